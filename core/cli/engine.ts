/**
 * `banter engine serve`: the engine as an OpenAI-compatible HTTP service (see core/serve).
 * `banter engine check`: what an engine server (banter's, vLLM, llama.cpp, TGI) can do for a model
 * folder, as a bot with `engine.url` finds it out at start.
 */
import { join } from 'node:path';
import type { Command as Program } from 'commander';
import { packageRoot } from '../config/package-root.js';
import { MODEL_DTYPES, type DtypeChoice } from '../engine/index.js';
import { EngineServerClient, REMOTE_DEFAULTS } from '../engine/remote/index.js';
import { createLogger } from '../log.js';
import { DEFAULT_MAX_BODY_BYTES, startEngineServer } from '../serve/index.js';

const DEFAULT_KEY_VARIABLE = 'BANTER_ENGINE_API_KEY';

function positiveInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) throw new Error(`${name} must be a whole number (got "${value}")`);
    return number;
  };
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

interface ServeFlags {
  model?: string[];
  device: 'cpu' | 'webgpu' | 'cuda' | 'auto';
  fallback: 'cpu' | 'fail';
  dtype: string;
  host: string;
  port: number;
  apiKeyEnv: string;
  maxBodyBytes: number;
  maxBatchRows?: number;
  prefillChunk?: number;
  threads?: number;
  shutdownGrace: number;
  logLevel: string;
}

export function registerEngineCommands(program: Program): void {
  const engine = program.command('engine').description('Run the engine as an OpenAI-compatible service, or check one');
  engine
    .command('serve')
    .description('Serve model folders over an OpenAI-compatible API (/v1/completions, /v1/models, /tokenize, /health)')
    .option('-m, --model <folder>', 'model folder to serve, FOLDER or NAME=FOLDER (repeat for several); default: the shipped banter-chat and banter-chat-backward', collect)
    .option('--device <device>', 'cpu, webgpu, cuda or auto', 'cpu')
    .option('--fallback <fallback>', 'when the device is unavailable: cpu or fail', 'cpu')
    .option('--dtype <dtype>', `ONNX file to run (${MODEL_DTYPES.join(', ')}, auto)`, 'auto')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', positiveInteger('--port'), 8000)
    .option('--api-key-env <name>', 'environment variable holding the bearer token clients must send (unset: no auth)', DEFAULT_KEY_VARIABLE)
    .option('--max-body-bytes <bytes>', 'largest request body accepted', positiveInteger('--max-body-bytes'), DEFAULT_MAX_BODY_BYTES)
    .option('--max-batch-rows <rows>', 'rows (candidates of all requests) one decode step may hold', positiveInteger('--max-batch-rows'))
    .option('--prefill-chunk <tokens>', 'prompt tokens per prefill pass', positiveInteger('--prefill-chunk'))
    .option('--threads <n>', "onnxruntime's intra-op threads (CPU)", positiveInteger('--threads'))
    .option('--shutdown-grace <ms>', 'on SIGTERM/SIGINT, how long requests in progress may finish', positiveInteger('--shutdown-grace'), 30_000)
    .option('--log-level <level>', 'fatal, error, warn, info, debug', 'info')
    .action(async (flags: ServeFlags) => {
      if (!(['auto', ...MODEL_DTYPES] as string[]).includes(flags.dtype)) throw new Error(`--dtype must be auto or one of ${MODEL_DTYPES.join(', ')} (got "${flags.dtype}")`);
      const logger = createLogger(flags.logLevel, { name: 'banter-engine' });
      const apiKey = process.env[flags.apiKeyEnv] || undefined;
      const loopback = ['127.0.0.1', '::1', 'localhost'].includes(flags.host);
      if (!apiKey && !loopback) logger.warn(`listening on ${flags.host} without auth: set ${flags.apiKeyEnv} to require a bearer token`);
      const models = flags.model ?? ['banter-chat', 'banter-chat-backward'].map((name) => join(packageRoot(), 'models', name));
      const running = await startEngineServer({
        models,
        device: flags.device,
        fallback: flags.fallback,
        dtype: flags.dtype as DtypeChoice,
        host: flags.host,
        port: flags.port,
        apiKey,
        maxBodyBytes: flags.maxBodyBytes,
        maxBatchRows: flags.maxBatchRows,
        prefillChunk: flags.prefillChunk,
        intraOpThreads: flags.threads,
        logger,
        onProgress: (message) => logger.debug(message),
      });
      const served = [...running.engines].map(([name, loaded]) => `${name} (${loaded.info.dtype} on ${loaded.device})`).join(', ');
      console.log(`banter engine: serving ${served} at ${running.url}${apiKey ? ` (bearer token from ${flags.apiKeyEnv})` : ''}`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      logger.info('shutting down: finishing requests in progress');
      await running.stop(flags.shutdownGrace);
    });

  engine
    .command('check')
    .description("What an OpenAI-compatible server can do for a model folder (as a bot with engine.url finds out at start)")
    .requiredOption('--url <url>', 'the server API, e.g. http://gpu-box:8000/v1')
    .requiredOption('-m, --model <folder>', "the local folder of the served model (its tokenizer and configs)")
    .option('--served-model <id>', "the server's id for it; default: named like the folder, or the only one")
    .option('--api-key-env <name>', 'environment variable holding the bearer token', DEFAULT_KEY_VARIABLE)
    .action(async (flags: { url: string; model: string; servedModel?: string; apiKeyEnv: string }) => {
      const client = await EngineServerClient.connect({ url: flags.url, apiKey: process.env[flags.apiKeyEnv] || undefined, servedModel: flags.servedModel, ...REMOTE_DEFAULTS, retryForMs: 0 });
      const remote = await client.engineFor(flags.model, true)!;
      const { features } = remote;
      const yes = (ok: boolean, no = 'no') => (ok ? 'yes' : no);
      const facts: [string, string][] = [
        ['server', `${client.connection.url} (${features.server})`],
        ['model', `${remote.servedModel} (folder ${remote.info.path})`],
        ['token-id prompts', yes(features.tokenIdPrompts)],
        ['tokenizer', features.sameTokenizer === undefined ? 'not checked (no /tokenize)' : "same as the folder's"],
        ['n > 1 choices', yes(features.choices)],
        ['seed', features.seed],
        ['generation logprobs', yes(features.generationLogprobs)],
        ['token ids out', yes(features.tokenIdsOut)],
        ['scoring (echo+logprobs)', features.scoring ? `yes (max_tokens ${features.scoring.maxTokens}, ${features.scoring.batch ? 'batched' : 'one prompt per request'})` : 'no'],
        ['beam search', yes(features.beam)],
      ];
      const width = Math.max(...facts.map(([label]) => label.length));
      for (const [label, value] of facts) console.log(`${label.padEnd(width)}  ${value}`);
      for (const gap of remote.gaps) console.log(`lacks ${gap.feature}: ${gap.problem} -> ${gap.effect}`);
      if (remote.gaps.length === 0) console.log('OK: every engine feature banter uses works on this server');
    });
}
