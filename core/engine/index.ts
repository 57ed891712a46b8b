/** banter's dialogue engine: decoder-only models in Hugging Face folders, run by onnxruntime-node. */
export { loadEngine, type LoadedDialogueEngine } from './engine.js';
export { ChatTemplateError, DeviceUnavailableError, EngineInputError, ModelFolderError, UnsupportedModelError, type EngineDevice } from './errors.js';
export { MODEL_DTYPES } from './dtype.js';
export { readModelFolder, type DtypeChoice, type ModelFolder } from './model-folder.js';
export type * from './types.js';
export { EngineFeatureError, EngineServerClient, RemoteDialogueEngine, RemoteEngineError, type FeatureGap, type ServerFeatures } from './remote/index.js';
