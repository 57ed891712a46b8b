/**
 * `banter models pull` against a loopback stand-in of the Hugging Face hub's file endpoints (tree
 * listing, resolve with a redirect, bearer auth), and `banter models check` on real folders.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerModelCommands } from '../../core/cli/models.js';
import { loadEngine } from '../../core/engine/index.js';
import { ModelPullError, pullModel } from '../../core/models/pull.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'banter-models-'));

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}

/** The hub stand-in: `test-org/<fixture>` repositories; `gated/...` needs a token; `/cut` aborts downloads midway. */
let server: Server;
let endpoint: string;
let cutNext = false;
const requests: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://hub');
    requests.push(`${req.method} ${url.pathname}`);
    const tree = url.pathname.match(/^\/api\/models\/([^/]+)\/([^/]+)\/tree\/main$/);
    const resolve = url.pathname.match(/^\/([^/]+)\/([^/]+)\/resolve\/main\/(.+)$/);
    const cdn = url.pathname.match(/^\/cdn\/([^/]+)\/(.+)$/);
    const [owner, name] = (tree ?? resolve ?? []).slice(1);
    if (owner === 'gated' && req.headers.authorization !== 'Bearer hf_secret') {
      res.writeHead(401).end('{"error":"gated"}');
      return;
    }
    const folder = name ? join(FIXTURES, name) : '';
    if (tree) {
      if (!existsSync(folder)) return void res.writeHead(404).end();
      const files = walk(folder).map((file) => ({ type: 'file', path: relative(folder, file), size: statSync(file).size }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ type: 'directory', path: 'onnx' }, ...files]));
    } else if (resolve) {
      // Like the hub: large files redirect to a content server.
      res.writeHead(302, { location: `/cdn/${name}/${resolve[3]}` }).end();
    } else if (cdn) {
      const file = join(FIXTURES, cdn[1], cdn[2]);
      if (!existsSync(file)) return void res.writeHead(404).end();
      const body = readFileSync(file);
      res.writeHead(200, { 'content-length': body.length });
      if (cutNext) {
        cutNext = false;
        res.write(body.subarray(0, body.length >> 1));
        res.socket?.destroy();
      } else res.end(body);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  rmSync(scratch, { recursive: true, force: true });
});

describe('banter models pull', () => {
  it('fetches the configs, the tokenizer and only the asked dtype, into a folder the engine runs', async () => {
    const target = join(scratch, 'llama-q4');
    const progress: string[] = [];
    const written = await pullModel('test-org/tiny-llama', { dtype: 'q4', target, endpoint, onProgress: (file) => progress.push(file) });
    expect(written.sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model_q4.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(progress).toContain('onnx/model_q4.onnx');
    expect(readFileSync(join(target, 'onnx/model_q4.onnx'))).toEqual(readFileSync(join(FIXTURES, 'tiny-llama/onnx/model_q4.onnx')));
    const engine = await loadEngine(target, { device: 'cpu', fallback: 'fail' });
    expect(engine.info.dtype).toBe('q4');
    const [candidate] = await engine.generate(engine.encodeMessages([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }), {
      strategy: 'greedy', numCandidates: 1, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, maxNewTokens: 3, beamWidth: 1, lengthPenalty: 1,
    });
    expect(candidate.logprob).toBeLessThan(0);
    await engine.dispose();
    // A second pull finds everything in place and downloads nothing.
    expect(await pullModel('test-org/tiny-llama', { dtype: 'q4', target, endpoint })).toEqual([]);
  });

  it('takes external data files with their graph', async () => {
    const external = readdirSync(FIXTURES).find((name) => existsSync(join(FIXTURES, name, 'onnx', 'model.onnx_data')) && name !== 'tiny-gpt2');
    expect(external).toBeDefined();
    const target = join(scratch, 'external');
    const written = await pullModel(`test-org/${external}`, { dtype: 'fp32', target, endpoint });
    expect(written).toContain('onnx/model.onnx_data');
  });

  it('names the dtypes a repository has when the asked one is missing, and says when access is needed', async () => {
    const missing = await pullModel('test-org/tiny-llama', { dtype: 'q8', target: join(scratch, 'q8'), endpoint }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelPullError);
    expect((missing as Error).message).toContain('it has fp32, fp16, q4');
    const gated = await pullModel('gated/tiny-llama', { dtype: 'q4', target: join(scratch, 'gated'), endpoint, token: '' }).catch((e: unknown) => e);
    expect((gated as Error).message).toContain('set HF_TOKEN');
    expect(await pullModel('gated/tiny-llama', { dtype: 'q4', target: join(scratch, 'gated'), endpoint, token: 'hf_secret' })).toContain('onnx/model_q4.onnx');
    const unknown = await pullModel('test-org/nothing-here', { dtype: 'q4', target: join(scratch, 'none'), endpoint }).catch((e: unknown) => e);
    expect((unknown as Error).message).toContain('was not found');
  });

  it('leaves no truncated file when a download breaks, and the next pull completes', async () => {
    const target = join(scratch, 'broken');
    cutNext = true;
    await expect(pullModel('test-org/tiny-qwen2', { dtype: 'fp32', target, endpoint })).rejects.toBeInstanceOf(ModelPullError);
    expect(walk(target).some((file) => file.endsWith('.part'))).toBe(false);
    const written = await pullModel('test-org/tiny-qwen2', { dtype: 'fp32', target, endpoint });
    expect(written.length).toBeGreaterThan(0);
    for (const file of walk(target)) expect(readFileSync(file)).toEqual(readFileSync(join(FIXTURES, 'tiny-qwen2', relative(target, file))));
  });
});

describe('banter models check', () => {
  /** Runs `banter <args>` on the real command definitions, in this process; returns what it printed. */
  const cli = async (...args: string[]) => {
    const program = new Command('banter').exitOverride();
    registerModelCommands(program);
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    process.exitCode = undefined;
    try {
      await program.parseAsync(['node', 'banter', ...args]);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    const code = process.exitCode ?? 0;
    process.exitCode = undefined;
    return { stdout: out.join('\n'), stderr: err.join('\n'), code };
  };

  it('reports a fixture of each family and exits 0', async () => {
    for (const folder of ['tiny-llama', 'tiny-qwen2', 'tiny-gemma', 'tiny-phi3', 'tiny-gpt2']) {
      const { stdout, code } = await cli('models', 'check', join(FIXTURES, folder));
      expect(code).toBe(0);
      expect(stdout).toMatch(/^model +\w+ \(\d+ layers/m);
      expect(stdout).toMatch(/^end tokens +\d+ /m);
      expect(stdout).toContain('OK: banter can run this folder');
    }
  });

  it('reports a truncated graph as a problem and exits 1', async () => {
    const dir = join(scratch, 'truncated');
    cpSync(join(FIXTURES, 'tiny-llama'), dir, { recursive: true });
    truncateSync(join(dir, 'onnx', 'model.onnx'), 1000);
    const result = await cli('models', 'check', dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('problem: the session could not be created');
  });
});
