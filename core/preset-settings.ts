/**
 * A plugin's settings per preset: the bot config's section merged with the preset's
 * `plugins.<name>` overrides, which are checked against the plugin's schema once per preset
 * (plugins call `for` on every known preset at setup, so a typo fails the start with its file).
 */
import { validatePluginConfig } from './config/schema.js';
import type { JSONSchema, Preset } from './types.js';

export class PresetSettings<Settings, Overrides> {
  private readonly merged = new WeakMap<Preset, Settings>();

  constructor(
    private readonly plugin: string,
    private readonly schema: JSONSchema,
    private readonly merge: (base: Settings, overrides: Overrides | undefined) => Settings,
    readonly base: Settings,
  ) {}

  for(preset: Preset): Settings {
    let settings = this.merged.get(preset);
    if (!settings) {
      const raw = preset.plugins[this.plugin];
      const overrides =
        raw === undefined
          ? undefined
          : validatePluginConfig<Overrides>(`presets/${preset.name}/plugins/${this.plugin}`, this.schema, raw, {
              file: preset.file ?? `preset ${preset.name}`,
              path: `/plugins/${this.plugin}`,
            });
      settings = this.merge(this.base, overrides);
      this.merged.set(preset, settings);
    }
    return settings;
  }
}
