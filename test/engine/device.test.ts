/**
 * Device selection: `auto` skips what cannot help here without asking onnxruntime (no CUDA provider
 * library; no GPU hardware under WebGPU, where only a software adapter could run) and says why; an
 * unavailable device asked for by name fails with what to install, or falls back to the CPU.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { autoSkipReason, deviceFacts, unavailableReason, type DeviceFacts } from '../../core/engine/device.js';
import { DeviceUnavailableError, loadEngine } from '../../core/engine/index.js';
import { createInferenceSession } from '../../core/engine/session.js';
import { FIXTURE, PLAIN } from './helpers.js';

const facts = deviceFacts();
const MODEL = join(FIXTURE, 'onnx', 'model.onnx');

describe('what the machine offers', () => {
  const none: DeviceFacts = { cudaLibraryLookedFor: '/ort/libonnxruntime_providers_cuda.so', gpuNodes: [] };
  const gpu: DeviceFacts = { ...none, cudaLibrary: none.cudaLibraryLookedFor, gpuNodes: ['/dev/nvidia0', '/dev/nvidiactl'] };

  it('reads where onnxruntime-node keeps its CUDA provider library', () => {
    expect(facts.cudaLibraryLookedFor).toMatch(/onnxruntime-node[\\/]bin[\\/]napi-v6[\\/].+providers_cuda/);
  });

  it('skips CUDA without its provider library, whether asked by name or by auto', () => {
    expect(unavailableReason('cuda', none)).toContain('no CUDA provider library (/ort/libonnxruntime_providers_cuda.so)');
    expect(autoSkipReason('cuda', none)).toBe(unavailableReason('cuda', none));
    expect(unavailableReason('cuda', gpu)).toBeUndefined();
  });

  it('lets auto try WebGPU only where there is GPU hardware; by name it is always tried', () => {
    expect(autoSkipReason('webgpu', none)).toMatch(/^no GPU device here: .*software one such as Mesa lavapipe/);
    expect(autoSkipReason('webgpu', gpu)).toBeUndefined();
    expect(autoSkipReason('webgpu', { ...none, gpuNodes: undefined })).toBeUndefined();
    expect(unavailableReason('webgpu', none)).toBeUndefined();
  });
});

describe('auto on this machine', () => {
  it('skips what cannot run, says why, and ends on a device that runs', async () => {
    const messages: string[] = [];
    const { session, device } = await createInferenceSession(MODEL, { device: 'auto', onProgress: (message) => messages.push(message) });
    await session.release();
    if (!facts.cudaLibrary) expect(messages.some((m) => m.startsWith('auto: skipping cuda: onnxruntime-node has no CUDA provider library'))).toBe(true);
    if (facts.gpuNodes?.length === 0) {
      expect(messages.some((m) => m.startsWith('auto: skipping webgpu: no GPU device here'))).toBe(true);
      expect(device).toBe('cpu');
    }
  });
});

describe('a device asked for by name', () => {
  it.runIf(!facts.cudaLibrary)('cuda without its provider library fails at once with the library and what to install', async () => {
    const error = await loadEngine(FIXTURE, { device: 'cuda', fallback: 'fail' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect((error as DeviceUnavailableError).detail).toBe(unavailableReason('cuda', facts));
    expect((error as Error).message).toContain('npm install --onnxruntime-node-install=cuda12');
    expect((error as Error).message).toContain('engine.fallback to cpu');
  });

  it.runIf(!facts.cudaLibrary)('cuda with fallback: cpu runs on the CPU after one warning', async () => {
    const messages: string[] = [];
    const engine = await loadEngine(FIXTURE, { device: 'cuda', fallback: 'cpu', onProgress: (message) => messages.push(message) });
    expect(engine.device).toBe('cpu');
    expect(messages.filter((m) => m.startsWith('warning: CUDA was requested'))).toHaveLength(1);
    const [candidate] = await engine.generate(engine.encodeTurns([{ role: 'user', text: 'Hi' }]), { ...PLAIN, numCandidates: 1 });
    expect(candidate.tokens.length).toBeGreaterThan(0);
    await engine.dispose();
  });
});
