/**
 * The engine worker: loads the model in its own thread and serves generate and score requests, so
 * that onnxruntime's `session.run` (synchronous in onnxruntime-node: it holds its thread for the
 * whole pass), sampling and key/value cache work never hold up the bot's event loop. Requests run
 * in the worker's own DecodeScheduler, so concurrent turns still batch together.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadLocalEngine } from '../engine.js';
import type { GeneratedToken } from '../types.js';
import type { FromWorker, SentError, ToWorker, WorkerData } from './protocol.js';

const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);
const { modelDir, options } = workerData as WorkerData;

function sent(error: unknown): SentError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

const engine = await loadLocalEngine(modelDir, { ...options, onProgress: (message, fraction) => send({ type: 'progress', message, fraction }) }).catch(
  (error: unknown) => {
    send({ type: 'load-failed', error: sent(error) });
    return undefined;
  },
);

if (engine) {
  const aborts = new Map<number, AbortController>();
  send({ type: 'ready', info: engine.info, device: engine.device, graph: engine.graph });

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'generate': {
        const { id } = message;
        const controller = new AbortController();
        aborts.set(id, controller);
        // Tokens go out once per turn of the worker's loop (one message per decode step), not one by one.
        let pending: GeneratedToken[] = [];
        const flush = () => {
          if (pending.length > 0) send({ type: 'tokens', id, tokens: pending });
          pending = [];
        };
        const onToken = message.streamTokens
          ? (token: GeneratedToken) => {
              if (pending.length === 0) setImmediate(flush);
              pending.push(token);
            }
          : undefined;
        engine
          .generateRaw(message.prompt, message.options, { signal: controller.signal, onToken })
          .then(
            (candidates) => {
              flush();
              send({ type: 'generated', id, candidates });
            },
            (error: unknown) => send({ type: 'failed', id, error: sent(error) }),
          )
          .finally(() => aborts.delete(id));
        return;
      }
      case 'score':
        engine.scoreTokens(message.pairs, message.top).then(
          (scores) => send({ type: 'scored', id: message.id, scores }),
          (error: unknown) => send({ type: 'failed', id: message.id, error: sent(error) }),
        );
        return;
      case 'abort':
        aborts.get(message.id)?.abort();
        return;
      case 'dispose':
        void engine.dispose().finally(() => port.close());
    }
  });
}
