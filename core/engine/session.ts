/**
 * Creating the onnxruntime session: execution provider (CUDA, WebGPU or CPU), threads, graph
 * optimization, and where outputs are placed. `auto` tries CUDA, then WebGPU, then the CPU, skips a
 * device that cannot help here without asking onnxruntime (no CUDA provider library; no GPU hardware
 * under WebGPU, where only a software adapter could run), and says why each was skipped.
 */
import { InferenceSession } from 'onnxruntime-node';
import { autoSkipReason, deviceFacts, unavailableReason, type DeviceFacts } from './device.js';
import { DeviceUnavailableError, type EngineDevice } from './errors.js';
import type { EngineOptions } from './types.js';

/**
 * Devices whose sessions can hand outputs back in device memory (`preferredOutputLocation:
 * 'gpu-buffer'`) and take them as inputs again. onnxruntime-node 1.30 binds such outputs to WebGPU
 * memory only ("WebGPU_Buf" in js/node/src/inference_session_wrap.cc): a CUDA session's outputs
 * always come back through host memory.
 */
export const DEVICE_OUTPUT_DEVICES: ReadonlySet<EngineDevice> = new Set(['webgpu']);

/**
 * onnxruntime's session config entries for thread spinning: idle worker threads busy-wait for the
 * next op unless told not to. Shared by the benchmark's other systems so that they run alike.
 */
export function spinningConfig(spinning: boolean): Record<string, unknown> {
  const allow = { allow_spinning: spinning ? '1' : '0' };
  // Nested keys are flattened by the binding into `session.intra_op.allow_spinning` etc.
  return { session: { intra_op: allow, inter_op: allow } };
}

/** Which outputs stay in device memory: all of them, those named, or none. */
export type DeviceOutputs = boolean | readonly string[];

function outputLocation(deviceOutputs: DeviceOutputs): InferenceSession.SessionOptions['preferredOutputLocation'] {
  if (deviceOutputs === true) return 'gpu-buffer';
  if (deviceOutputs === false) return undefined;
  return Object.fromEntries(deviceOutputs.map((name) => [name, 'gpu-buffer' as const]));
}

export function sessionOptions(
  options: Pick<EngineOptions, 'intraOpThreads' | 'interOpThreads' | 'spinning'>,
  device: EngineDevice,
  deviceOutputs: DeviceOutputs = false,
): InferenceSession.SessionOptions {
  const location = outputLocation(deviceOutputs);
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
    // GPU sessions warn on every load that shape arithmetic runs on the CPU, which is by design.
    ...(device === 'cpu' ? {} : { logSeverityLevel: 3 as const }),
    ...(location ? { preferredOutputLocation: location } : {}),
    extra: spinningConfig(options.spinning ?? false),
  };
}

/** The devices to try, in order, for an `engine.device` value. */
function candidates(device: EngineOptions['device'], fallback: 'cpu' | 'fail'): EngineDevice[] {
  if (device === 'auto') return ['cuda', 'webgpu', 'cpu'];
  if (device === 'cpu') return ['cpu'];
  return fallback === 'cpu' ? [device, 'cpu'] : [device];
}

export interface CreatedSession {
  session: InferenceSession;
  device: EngineDevice;
  /** The graph loaded (it may depend on the device). */
  path: string;
  /** Whether the session was asked to keep its outputs in device memory (see DEVICE_OUTPUT_DEVICES). */
  deviceOutputs: boolean;
}

export interface SessionRequest {
  /** Outputs to keep in device memory on a device that can (the GPU decoders' sessions): all, or those named. */
  deviceOutputs?: DeviceOutputs;
  /** What the machine offers; found here when not given (tests pass their own). */
  facts?: DeviceFacts;
}

/**
 * Creates the session on the requested device. An unavailable GPU device fails with what to install,
 * unless `fallback: cpu` (or `auto`) lets the CPU take over, which is reported through `onProgress`.
 * `graph` is the ONNX file, or the file for a device (the GPU decoder runs the standard graph).
 */
export async function createInferenceSession(
  graph: string | ((device: EngineDevice) => string),
  options: EngineOptions,
  request: SessionRequest = {},
): Promise<CreatedSession> {
  const facts = request.facts ?? (options.device === 'cpu' ? undefined : deviceFacts());
  const tried = candidates(options.device, options.fallback ?? 'fail');
  const say = options.onProgress ?? (() => {});
  for (const [index, device] of tried.entries()) {
    const path = typeof graph === 'string' ? graph : graph(device);
    const outputs = DEVICE_OUTPUT_DEVICES.has(device) ? (request.deviceOutputs ?? false) : false;
    const deviceOutputs = outputs !== false;
    if (device === 'cpu') return { session: await InferenceSession.create(path, sessionOptions(options, device)), device, path, deviceOutputs };
    const skip = options.device === 'auto' ? autoSkipReason(device, facts!) : unavailableReason(device, facts!);
    let unavailable: DeviceUnavailableError;
    if (skip) unavailable = new DeviceUnavailableError(device, skip);
    else {
      if (device === 'webgpu' && facts!.gpuNodes?.length === 0) {
        say('note: no GPU device here, so WebGPU can only run on a software Vulkan adapter (such as Mesa lavapipe), slower than engine.device: cpu');
      }
      try {
        return { session: await InferenceSession.create(path, sessionOptions(options, device, outputs)), device, path, deviceOutputs };
      } catch (error) {
        unavailable = new DeviceUnavailableError(device, error);
      }
    }
    if (index === tried.length - 1) throw unavailable;
    const next = tried[index + 1];
    say(
      options.device === 'auto'
        ? `auto: skipping ${device}: ${unavailable.detail.split('\n')[0]}; trying ${next}`
        : `warning: ${unavailable.message} Falling back to ${next}.`,
    );
  }
  throw new Error('unreachable: the CPU is always tried last');
}
