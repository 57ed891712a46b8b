/**
 * WebGPU asked for where no Vulkan driver can be found: a clear error with what to install, or the
 * CPU with `fallback: cpu`. The Vulkan loader is pointed at a driver list that does not exist before
 * anything in this test process (vitest runs each file in its own) creates a WebGPU instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceUnavailableError, loadEngine } from '../../core/engine/index.js';
import { FIXTURE } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'banter-no-vulkan-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
// VK_DRIVER_FILES is the loader's current name for VK_ICD_FILENAMES; both are honoured.
process.env.VK_DRIVER_FILES = process.env.VK_ICD_FILENAMES = join(scratch, 'no-driver.json');

describe('WebGPU without a Vulkan driver', () => {
  it('fails at load with onnxruntime’s reason and what to install', async () => {
    const error = await loadEngine(FIXTURE, { device: 'webgpu', fallback: 'fail' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceUnavailableError);
    expect((error as DeviceUnavailableError).device).toBe('webgpu');
    expect((error as DeviceUnavailableError).detail).toMatch(/^Failed to get a WebGPU adapter/);
    expect((error as Error).message).toContain('apt-get install libvulkan1 mesa-vulkan-drivers');
  });

  it('runs on the CPU with fallback: cpu, after saying why', async () => {
    const messages: string[] = [];
    const engine = await loadEngine(FIXTURE, { device: 'webgpu', fallback: 'cpu', onProgress: (message) => messages.push(message) });
    expect(engine.device).toBe('cpu');
    expect(messages.some((m) => m.startsWith('warning: WebGPU was requested') && m.includes('Falling back to cpu'))).toBe(true);
    await engine.dispose();
  });
});
