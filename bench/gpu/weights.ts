/**
 * `npm run bench -- weights DIR...`: writes the external-data files that
 * bench/gpu/strip_weights.py left out of each model folder (named with their sizes in weights.json),
 * as seeded random float32 values in [-0.05, 0.05): the benchmark models' weights are random anyway,
 * and what a pass costs does not depend on them. The same seed gives the same file, so a folder
 * filled twice, or on two machines, holds the same weights.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CHUNK_FLOATS = 4 * 1024 * 1024;

async function fill(path: string, bytes: number, seed: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    const chunk = new Float32Array(CHUNK_FLOATS);
    let state = seed >>> 0 || 1;
    for (let written = 0; written < bytes; ) {
      for (let i = 0; i < chunk.length; i++) {
        // xorshift32: fast, seeded; 24 bits of it make a uniform float.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        chunk[i] = ((state >>> 8) / 2 ** 24 - 0.5) * 0.1;
      }
      const length = Math.min(chunk.byteLength, bytes - written);
      await file.write(new Uint8Array(chunk.buffer, 0, length), 0, length, written);
      written += length;
    }
  } finally {
    await file.close();
  }
}

export async function fillWeights(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8')) as { files: Record<string, number> };
  const written: string[] = [];
  for (const [index, [name, bytes]] of Object.entries(manifest.files).entries()) {
    await fill(join(dir, 'onnx', name), bytes, 12345 + index);
    written.push(`${join(dir, 'onnx', name)} (${bytes} bytes)`);
  }
  return written;
}

export async function weightsCommand(dirs: string[]): Promise<void> {
  if (dirs.length === 0) throw new Error('name the model folders to fill (each with a weights.json)');
  for (const dir of dirs) for (const line of await fillWeights(dir)) process.stdout.write(`filled ${line}\n`);
}
