import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceUnavailableError, loadEngine, ModelFolderError } from '../../core/engine/index.js';
import { FIXTURE, PLAIN } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'banter-engine-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyFixture(name: string): string {
  const dir = join(scratch, name);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** Whether this onnxruntime-node install carries the CUDA execution provider library. */
function hasCudaBinaries(): boolean {
  const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const binDir = join(ortDir, 'bin');
  const walk = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : entry.name.startsWith('libonnxruntime_providers_cuda'),
    );
  return existsSync(binDir) && walk(binDir);
}

describe('loading a model folder', () => {
  it('reads the fixture: model info and generation defaults', async () => {
    const messages: string[] = [];
    const engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail', onProgress: (message) => messages.push(message) });
    expect(engine.info).toMatchObject({ modelType: 'gpt2', layers: 2, heads: 2, hidden: 64, contextWindow: 128 });
    expect(engine.info.generation).toMatchObject({ strategy: 'sample', topK: 40, topP: 0.9, maxNewTokens: 24 });
    expect(engine.format!.responsePrefix).toBe('<|bot|>');
    expect(messages.at(-1)).toContain('ready on cpu');
    await engine.dispose();
  });

  it('runs the slot-cache graph when the folder has one, else the standard graph, with the same replies', async () => {
    const dir = copyFixture('standard-only');
    rmSync(join(dir, 'onnx', 'decoder_slot_cache.onnx'));
    const slot = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
    const standard = await loadEngine(dir, { device: 'cpu', fallback: 'fail' });
    expect([slot.graph, standard.graph]).toEqual(['slot-cache', 'standard']);
    const prompt = slot.encodeTurns([{ role: 'user', text: 'Hello, who are you?' }]);
    for (const options of [{ ...PLAIN, numCandidates: 6 }, { ...PLAIN, strategy: 'beam' as const, beamWidth: 3, numCandidates: 3 }]) {
      const [a, b] = await Promise.all([slot.generate(prompt, options), standard.generate(prompt, options)]);
      expect(a.map((c) => c.text)).toEqual(b.map((c) => c.text));
      a.forEach((candidate, i) => expect(candidate.logprob).toBeCloseTo(b[i].logprob, 3));
    }
    await Promise.all([slot.dispose(), standard.dispose()]);
  });

  it('accepts optimum’s decoder_model_merged.onnx name and falls back to DialoGPT’s format', async () => {
    const dir = copyFixture('dialogpt-like');
    rmSync(join(dir, 'onnx', 'decoder_slot_cache.onnx'));
    renameSync(join(dir, 'onnx', 'model.onnx'), join(dir, 'onnx', 'decoder_model_merged.onnx'));
    rmSync(join(dir, 'dialogue_format.json'));
    const engine = await loadEngine(dir, { device: 'cpu', fallback: 'fail' });
    expect(engine.graph).toBe('standard');
    expect(engine.format).toMatchObject({ user: '{text}<|endoftext|>', bot: '{text}<|endoftext|>', responsePrefix: '', end: '<|endoftext|>' });
    const eos = engine.tokenizer.tokenId('<|endoftext|>');
    expect(engine.encodeTurns([{ role: 'user', text: 'Hi' }]).at(-1)).toBe(eos);
    const candidates = await engine.generate(engine.encodeTurns([{ role: 'user', text: 'Hi' }]), { ...PLAIN, numCandidates: 2 });
    expect(candidates).toHaveLength(2);
    await engine.dispose();
  });

  it('names the missing or invalid file', async () => {
    await expect(loadEngine(join(scratch, 'nowhere'), { device: 'cpu', fallback: 'fail' })).rejects.toThrow(ModelFolderError);
    const dir = copyFixture('bad-format');
    writeFileSync(join(dir, 'dialogue_format.json'), JSON.stringify({ user: 'no placeholder', bot: '{text}', responsePrefix: '', end: '<|endoftext|>' }));
    await expect(loadEngine(dir, { device: 'cpu', fallback: 'fail' })).rejects.toThrow(/dialogue_format\.json.*"user" must contain \{text\}/);
    const noOnnx = copyFixture('no-onnx');
    rmSync(join(noOnnx, 'onnx'), { recursive: true });
    await expect(loadEngine(noOnnx, { device: 'cpu', fallback: 'fail' })).rejects.toThrow(/onnx\/model\.onnx or onnx\/decoder_model_merged\.onnx/);
  });
});

describe('CUDA requested without CUDA binaries', () => {
  it('fails at load with the reinstall hint', async () => {
    expect(hasCudaBinaries()).toBe(false);
    const error = await loadEngine(FIXTURE, { device: 'cuda', fallback: 'fail' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect((error as Error).message).toContain('npm install --onnxruntime-node-install=cuda12');
  });

  it('falls back to CPU with a warning when fallback is cpu', async () => {
    const messages: string[] = [];
    const engine = await loadEngine(FIXTURE, { device: 'cuda', fallback: 'cpu', onProgress: (message) => messages.push(message) });
    expect(engine.device).toBe('cpu');
    expect(messages.some((m) => m.startsWith('warning:') && m.includes('cuda12'))).toBe(true);
    const [candidate] = await engine.generate(engine.encodeTurns([{ role: 'user', text: 'Hi' }]), { ...PLAIN, numCandidates: 1 });
    expect(candidate.tokens.length).toBeGreaterThan(0);
    await engine.dispose();
  });
});
