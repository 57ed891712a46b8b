/** Typed errors of the dialogue engine, with messages a user can act on. */

/** The model folder is missing a file or holds an invalid one. */
export class ModelFolderError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${message} (${path})`);
    this.name = 'ModelFolderError';
  }
}

/** CUDA was asked for but onnxruntime-node has no CUDA binaries (or no GPU is usable). */
export class CudaUnavailableError extends Error {
  constructor(cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `CUDA was requested (engine.device: cuda) but onnxruntime-node could not use it: ${detail}. ` +
        'Reinstall onnxruntime-node with CUDA 12 binaries: `npm install --onnxruntime-node-install=cuda12`, ' +
        'or set engine.device to cpu (or engine.cudaFallback to true).',
      { cause },
    );
    this.name = 'CudaUnavailableError';
  }
}

/** Decoding options or inputs that cannot be honoured (e.g. a prompt longer than the context window). */
export class EngineInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineInputError';
  }
}
