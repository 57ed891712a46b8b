/** The machine and runtime a benchmark ran on. */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineFacts {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  node_version: string;
  onnxruntime_node_version: string;
  transformers_js_version: string;
  platform: string;
  /** `nvidia-smi`'s name, driver and memory of each GPU, where there is one. */
  gpus: string[];
  /** The Vulkan driver list WebGPU was pointed at (VK_DRIVER_FILES), if any. */
  vulkan_driver_files: string | null;
}

function nvidiaGpus(): string[] {
  try {
    const text = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 });
    return text.split('\n').map((line) => line.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

async function packageVersion(name: string): Promise<string> {
  const require = createRequire(import.meta.url);
  // The package's main file sits somewhere under its root; walk up to the package.json naming it.
  let folder = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === name && manifest.version) return manifest.version;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`cannot find the package.json of ${name}`);
    folder = parent;
  }
}

export async function machineFacts(): Promise<MachineFacts> {
  const processors = cpus();
  return {
    cpu_model: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node_version: process.version,
    onnxruntime_node_version: await packageVersion('onnxruntime-node'),
    transformers_js_version: await packageVersion('@huggingface/transformers'),
    platform: `${process.platform}-${process.arch}`,
    gpus: nvidiaGpus(),
    vulkan_driver_files: process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? null,
  };
}

/** 1, 5 and 15 minute load averages: a busy machine makes every figure slower and noisier. */
export function loadAverage(): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}
