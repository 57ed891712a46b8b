/**
 * `banter models pull HUB_ID`: downloads the files banter needs of a model repository from the
 * Hugging Face hub (or any server with its file endpoints: HF_ENDPOINT), only when asked — never at
 * install or start. Only the configs, the tokenizer and the ONNX files of one dtype are fetched;
 * each file streams to `NAME.part` and is renamed when complete, so an interrupted pull leaves no
 * truncated model file behind and a second pull resumes with the files still missing.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BanterError } from '../errors.js';
import { DTYPE_SUFFIX, MODEL_DTYPES, type ModelDtype } from '../engine/dtype.js';

export class ModelPullError extends BanterError {
  constructor(message: string) {
    super('model_pull', message);
  }
}

const METADATA = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'chat_template.json',
  'dialogue_format.json',
];

export interface PullOptions {
  dtype: ModelDtype;
  /** Folder to write into (created). */
  target: string;
  revision?: string;
  /** Hub address; default HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Bearer token for gated or private repositories; default HF_TOKEN. */
  token?: string;
  onProgress?: (file: string, received: number, total: number | undefined) => void;
}

interface HubFile {
  path: string;
  size?: number;
}

/** The files of one dtype's decoder: the ONNX graph and its external data. */
function dtypeFiles(files: HubFile[], dtype: ModelDtype): HubFile[] {
  for (const stem of ['model', 'decoder_model_merged']) {
    const graph = `onnx/${stem}${DTYPE_SUFFIX[dtype]}.onnx`;
    if (files.some((file) => file.path === graph)) {
      return files.filter((file) => file.path === graph || file.path.startsWith(`${graph}_data`) || file.path.startsWith(`${graph}.data`));
    }
  }
  return [];
}

function availableDtypes(files: HubFile[]): ModelDtype[] {
  return MODEL_DTYPES.filter((dtype) => dtypeFiles(files, dtype).length > 0);
}

/** Downloads `repo`'s files for `options.dtype` into `options.target`; returns the files written. */
export async function pullModel(repo: string, options: PullOptions): Promise<string[]> {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) throw new ModelPullError(`"${repo}" is not a hub repository id (owner/name)`);
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  const revision = options.revision ?? 'main';
  const token = options.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const request = async (url: string) => {
    let response: Response;
    try {
      response = await fetch(url, { headers, redirect: 'follow' });
    } catch (error) {
      throw new ModelPullError(`cannot reach ${endpoint}: ${(error as Error).message}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new ModelPullError(`${repo} needs access: accept its licence on the hub and set HF_TOKEN (HTTP ${response.status})`);
    }
    if (response.status === 404) throw new ModelPullError(`${repo} (revision ${revision}) was not found at ${endpoint}`);
    if (!response.ok) throw new ModelPullError(`${url}: HTTP ${response.status}`);
    return response;
  };

  const listing = (await (await request(`${endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`)).json()) as { type: string; path: string; size?: number }[];
  const files = listing.filter((entry) => entry.type === 'file');
  const graph = dtypeFiles(files, options.dtype);
  if (graph.length === 0) {
    const have = availableDtypes(files);
    throw new ModelPullError(
      `${repo} has no ONNX decoder for dtype ${options.dtype} (onnx/model${DTYPE_SUFFIX[options.dtype]}.onnx)${
        have.length ? `; it has ${have.join(', ')}: pass --dtype with one of those` : '; it has no ONNX export at all (export it with optimum, or pick an onnx-community repository)'
      }`,
    );
  }
  if (!files.some((file) => file.path === 'config.json') || !files.some((file) => file.path === 'tokenizer.json')) {
    throw new ModelPullError(`${repo} lacks config.json or tokenizer.json, which banter needs`);
  }
  const wanted = [...files.filter((file) => METADATA.includes(file.path)), ...graph];
  const written: string[] = [];
  for (const file of wanted) {
    const destination = join(options.target, file.path);
    if (existsSync(destination) && (file.size === undefined || (await stat(destination)).size === file.size)) continue;
    await mkdir(dirname(destination), { recursive: true });
    const response = await request(`${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.path}`);
    const total = Number(response.headers.get('content-length')) || file.size;
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        options.onProgress?.(file.path, received, total);
        done(null, chunk);
      },
    });
    const partial = `${destination}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), counter, createWriteStream(partial));
      if (total !== undefined && received !== total) throw new ModelPullError(`${file.path}: received ${received} of ${total} bytes`);
    } catch (error) {
      await rm(partial, { force: true });
      throw error instanceof ModelPullError ? error : new ModelPullError(`${file.path}: download failed: ${(error as Error).message}`);
    }
    await rename(partial, destination);
    written.push(file.path);
  }
  return written;
}
