import { defineConfig } from 'vitest/config';

/**
 * Slow tests: they run the shipped full-size models (and their validation data), a browser, WebGPU on
 * lavapipe, transformers.js or the model converter, or build and pack the package. Everything else
 * (unit, pipeline, plugins, adapters, history, the engine on the tiny fixture models) is fast.
 * `npm test` runs both projects; `npm run test:fast` / `npm run test:slow` run one.
 */
const SLOW = [
  'test/models/**/*.test.ts',
  'test/web/browser.test.ts',
  'test/engine/webgpu.test.ts',
  'test/engine/modern.test.ts',
  'test/bench/**/*.test.ts',
  'test/optimize/**/*.test.ts',
  'test/package/**/*.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: SLOW } },
      { extends: true, test: { name: 'slow', include: SLOW } },
    ],
  },
});
