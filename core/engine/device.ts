/**
 * What this machine offers the execution providers, found without creating a session: whether
 * onnxruntime-node has its CUDA provider library, and whether there is GPU hardware at all. `auto`
 * uses these to skip a device cheaply (no onnxruntime error printed on every start) and never to pick
 * a software Vulkan adapter: Mesa's lavapipe runs WebGPU on the CPU, slower than the CPU provider.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EngineDevice } from './errors.js';

export interface DeviceFacts {
  /** The CUDA provider library beside onnxruntime-node's binding, when it is there. */
  cudaLibrary?: string;
  /** Where it was looked for (for messages). */
  cudaLibraryLookedFor: string;
  /**
   * GPU device nodes (Linux: /dev/dri/renderD*, /dev/nvidia*, WSL's /dev/dxg); undefined where the
   * platform has no such nodes to look at (macOS, Windows), whose WebGPU adapters are hardware ones.
   */
  gpuNodes?: string[];
}

/** onnxruntime-node's folder of native libraries for this platform. */
function bindingFolder(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

function cudaLibraryName(): string {
  return process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
}

function linuxGpuNodes(): string[] {
  const nodes: string[] = [];
  if (existsSync('/dev/dri')) {
    for (const name of readdirSync('/dev/dri')) if (name.startsWith('renderD')) nodes.push(`/dev/dri/${name}`);
  }
  for (const path of ['/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg']) if (existsSync(path)) nodes.push(path);
  return nodes;
}

export function deviceFacts(): DeviceFacts {
  const cudaLibraryLookedFor = join(bindingFolder(), cudaLibraryName());
  return {
    cudaLibrary: existsSync(cudaLibraryLookedFor) ? cudaLibraryLookedFor : undefined,
    cudaLibraryLookedFor,
    gpuNodes: process.platform === 'linux' ? linuxGpuNodes() : undefined,
  };
}

/** Why a device cannot run here before onnxruntime is even asked; undefined when it is worth trying. */
export function unavailableReason(device: Exclude<EngineDevice, 'cpu'>, facts: DeviceFacts): string | undefined {
  if (device === 'cuda' && !facts.cudaLibrary) return `onnxruntime-node has no CUDA provider library (${facts.cudaLibraryLookedFor})`;
  return undefined;
}

/**
 * Why `auto` does not try a device that might run: a WebGPU adapter on a machine without GPU
 * hardware can only be a software one (lavapipe, SwiftShader), slower than the CPU provider.
 * An explicit `engine.device: webgpu` still runs there.
 */
export function autoSkipReason(device: Exclude<EngineDevice, 'cpu'>, facts: DeviceFacts): string | undefined {
  const reason = unavailableReason(device, facts);
  if (reason) return reason;
  if (device === 'webgpu' && facts.gpuNodes?.length === 0) {
    return 'no GPU device here: no /dev/dri/renderD*, /dev/nvidia* or /dev/dxg, so a Vulkan adapter could only be a software one such as Mesa lavapipe, slower than the CPU; set engine.device: webgpu to use it anyway';
  }
  return undefined;
}
