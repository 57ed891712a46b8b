/** banter's dialogue engine: GPT-2-family models in Hugging Face folders, run by onnxruntime-node. */
export { loadEngine, type LoadedDialogueEngine } from './engine.js';
export { CudaUnavailableError, EngineInputError, ModelFolderError } from './errors.js';
export type * from './types.js';
