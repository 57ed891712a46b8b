export { loadConfig, defaultConfigFile, type LoadConfigOptions } from './load.js';
export { loadPresets, collectPresets, presetDirs, presetRoutingProblems } from './presets.js';
export { validatePluginConfig } from './schema.js';
export { ConfigError, type ConfigErrorDetails } from './errors.js';
export { packageRoot, builtinConfigDir } from './package-root.js';
export type { BotConfig, LoadedConfig, EngineConfig, HistoryConfig, SelectionConfig, PresetsConfig, FeedbackConfig } from './types.js';
