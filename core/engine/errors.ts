/** Typed errors of the dialogue engine, with messages a user can act on. */
import { BanterError } from '../errors.js';

/** The model folder is missing a file or holds an invalid one. */
export class ModelFolderError extends BanterError {
  constructor(
    message: string,
    readonly path: string,
    code = 'model_folder',
  ) {
    super(code, `${message} (${path})`);
  }
}

/** A model the engine cannot run (encoder-decoder, not a causal LM, a graph without a key/value cache). */
export class UnsupportedModelError extends ModelFolderError {
  constructor(message: string, path: string) {
    super(message, path, 'unsupported_model');
  }
}

export type EngineDevice = 'cpu' | 'webgpu' | 'cuda';

const INSTALL_HINT: Record<Exclude<EngineDevice, 'cpu'>, string> = {
  cuda:
    'CUDA needs onnxruntime-node installed with its CUDA 12 binaries (`npm install --onnxruntime-node-install=cuda12`), ' +
    'the CUDA 12 and cuDNN 9 libraries and an NVIDIA driver',
  webgpu:
    'WebGPU runs on Vulkan: install the Vulkan loader and your GPU’s Vulkan driver (Debian/Ubuntu: `apt-get install libvulkan1 mesa-vulkan-drivers`, ' +
    'or the NVIDIA driver’s Vulkan ICD); Mesa’s lavapipe must be version 25 or newer (Debian bookworm: from bookworm-backports)',
};

/** A device asked for (engine.device) that onnxruntime could not use here. */
export class DeviceUnavailableError extends BanterError {
  /** onnxruntime's own words. */
  readonly detail: string;

  constructor(
    readonly device: Exclude<EngineDevice, 'cpu'>,
    cause: unknown,
  ) {
    // onnxruntime prefixes its reason with the source line of a failed check: keep the reason.
    const detail = (cause instanceof Error ? cause.message : String(cause)).trim().replace(/^\/onnxruntime_src\/\S+:\d+ .*? was false\. /s, '');
    super(
      `${device}_unavailable`,
      `${device === 'cuda' ? 'CUDA' : 'WebGPU'} was requested (engine.device: ${device}) but onnxruntime-node could not use it: ${detail}. ` +
        `${INSTALL_HINT[device]}; or set engine.device to cpu (or engine.fallback to cpu).`,
      { cause },
    );
    this.detail = detail;
  }
}

/** Decoding options or inputs that cannot be honoured (e.g. a prompt longer than the context window). */
export class EngineInputError extends BanterError {
  constructor(message: string) {
    super('engine_input', message);
  }
}

/** The model's chat template failed to render a conversation. */
export class ChatTemplateError extends BanterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('chat_template', message, options);
  }
}
