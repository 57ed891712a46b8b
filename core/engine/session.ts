/**
 * Creating the onnxruntime session: execution provider (CUDA, WebGPU or CPU), threads, graph
 * optimization. `auto` tries CUDA, then WebGPU, then the CPU, and says why each was skipped.
 */
import { InferenceSession } from 'onnxruntime-node';
import { DeviceUnavailableError, type EngineDevice } from './errors.js';
import type { EngineOptions } from './types.js';

/**
 * onnxruntime's session config entries for thread spinning: idle worker threads busy-wait for the
 * next op unless told not to. Shared by the benchmark's other systems so that they run alike.
 */
export function spinningConfig(spinning: boolean): Record<string, unknown> {
  const allow = { allow_spinning: spinning ? '1' : '0' };
  // Nested keys are flattened by the binding into `session.intra_op.allow_spinning` etc.
  return { session: { intra_op: allow, inter_op: allow } };
}

export function sessionOptions(options: Pick<EngineOptions, 'intraOpThreads' | 'interOpThreads' | 'spinning'>, device: EngineDevice): InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
    extra: spinningConfig(options.spinning ?? false),
  };
}

/** The devices to try, in order, for an `engine.device` value. */
function candidates(device: EngineOptions['device'], fallback: 'cpu' | 'fail'): EngineDevice[] {
  if (device === 'auto') return ['cuda', 'webgpu', 'cpu'];
  if (device === 'cpu') return ['cpu'];
  return fallback === 'cpu' ? [device, 'cpu'] : [device];
}

/**
 * Creates the session on the requested device. An unavailable GPU device fails with what to install,
 * unless `fallback: cpu` (or `auto`) lets the CPU take over, which is reported through `onProgress`.
 */
export async function createInferenceSession(
  onnxPath: string,
  options: EngineOptions,
): Promise<{ session: InferenceSession; device: EngineDevice }> {
  const tried = candidates(options.device, options.fallback ?? 'fail');
  for (const [index, device] of tried.entries()) {
    try {
      return { session: await InferenceSession.create(onnxPath, sessionOptions(options, device)), device };
    } catch (error) {
      if (device === 'cpu') throw error;
      const unavailable = new DeviceUnavailableError(device, error);
      if (index === tried.length - 1) throw unavailable;
      const next = tried[index + 1];
      options.onProgress?.(
        options.device === 'auto'
          ? `auto: skipping ${device} (${unavailable.detail.split('\n')[0]}); trying ${next}`
          : `warning: ${unavailable.message} Falling back to ${next}.`,
      );
    }
  }
  throw new Error('unreachable: the CPU is always tried last');
}
