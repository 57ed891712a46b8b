/** Creating the onnxruntime session: execution provider (CUDA or CPU), threads, graph optimization. */
import { InferenceSession } from 'onnxruntime-node';
import { CudaUnavailableError } from './errors.js';
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

function sessionOptions(options: EngineOptions, providers: string[]): InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
    extra: spinningConfig(options.spinning ?? false),
  };
}

/** Creates the session on the requested device; CUDA failures fall back to CPU only when allowed. */
export async function createInferenceSession(
  onnxPath: string,
  options: EngineOptions,
): Promise<{ session: InferenceSession; device: 'cpu' | 'cuda' }> {
  if (options.device === 'cuda') {
    try {
      return { session: await InferenceSession.create(onnxPath, sessionOptions(options, ['cuda'])), device: 'cuda' };
    } catch (error) {
      const unavailable = new CudaUnavailableError(error);
      if (!options.cudaFallback) throw unavailable;
      options.onProgress?.(`warning: ${unavailable.message} Falling back to CPU.`);
    }
  }
  return { session: await InferenceSession.create(onnxPath, sessionOptions(options, ['cpu'])), device: 'cpu' };
}
