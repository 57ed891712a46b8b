/**
 * Whether this machine has a WebGPU adapter (a Vulkan loader and driver, hardware or Mesa's
 * lavapipe), found by creating one small session. The WebGPU tests skip, with this reason, only
 * where there is none and CI is not set: under CI (`.ci/run` installs lavapipe) they must run.
 */
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { FIXTURE } from './helpers.js';

export const WEBGPU_REQUIRED = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** Why WebGPU cannot run here, or undefined when it can. */
export async function webGpuUnavailable(): Promise<string | undefined> {
  try {
    const session = await InferenceSession.create(join(FIXTURE, 'onnx', 'model.onnx'), { executionProviders: ['webgpu'], logSeverityLevel: 3 });
    await session.release();
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}
