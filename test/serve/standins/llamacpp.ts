/**
 * A loopback stand-in of llama.cpp's server (`llama-server`) with what its OpenAI-compatible
 * completions endpoint takes and refuses, as its tools/server/utils.hpp parses requests: one
 * choice only ("Only one completion choice is allowed"), no echo ("Only no echo is supported"),
 * no best_of/suffix ("Unsupported param: ..."), no OpenAI logprobs, token-id or text prompts,
 * seeds, and its root `/tokenize` taking `content`. Completions come from a real banter engine.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LoadedDialogueEngine } from '../../../core/engine/index.js';

export interface LlamaCppStandIn {
  url: string;
  /** POST /v1/completions requests received. */
  completions: number;
  close(): Promise<void>;
}

export async function startLlamaCppStandIn(models: ReadonlyMap<string, LoadedDialogueEngine>): Promise<LlamaCppStandIn> {
  const state = { completions: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const fail = (message: string) => reply(500, { error: { code: 500, message, type: 'server_error' } });
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, any>) : {};
      const [id, engine] = [...models][0];
      const path = req.url ?? '/';
      if (req.method === 'GET' && path === '/health') return reply(200, { status: 'ok' });
      if (req.method === 'GET' && path === '/v1/models') return reply(200, { object: 'list', data: [...models.keys()].map((model) => ({ id: model, object: 'model', owned_by: 'llamacpp' })) });
      if (req.method === 'POST' && path === '/tokenize') return reply(200, { tokens: engine.tokenizer.encode(String(body.content ?? '')) });
      if (req.method !== 'POST' || path !== '/v1/completions') return reply(404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
      state.completions++;
      if (body.prompt === undefined) return fail('"prompt" is required');
      if ((body.n ?? 1) !== 1) return fail('Only one completion choice is allowed');
      if (body.echo) return fail('Only no echo is supported');
      for (const param of ['best_of', 'suffix']) if (param in body) return fail(`Unsupported param: ${param}`);
      const served = models.get(body.model) ?? engine;
      const prompt: number[] = Array.isArray(body.prompt) ? body.prompt : served.tokenizer.encodeMarkup(body.prompt);
      served
        .generate(prompt, {
          strategy: 'sample',
          numCandidates: 1,
          temperature: body.temperature ?? 0.8,
          topK: body.top_k ?? 40,
          topP: body.top_p ?? 0.95,
          repetitionPenalty: body.repeat_penalty ?? 1,
          noRepeatNgramSize: 0,
          minNewTokens: 0,
          maxNewTokens: body.max_tokens ?? 16,
          seed: body.seed,
          beamWidth: 1,
          lengthPenalty: 1,
        })
        .then(([candidate]) =>
          reply(200, {
            object: 'text_completion',
            model: body.model ?? id,
            choices: [{ index: 0, text: served.tokenizer.decode(candidate.tokens), logprobs: null, finish_reason: candidate.finished ? 'stop' : 'length' }],
            usage: { prompt_tokens: prompt.length, completion_tokens: candidate.tokens.length, total_tokens: prompt.length + candidate.tokens.length },
          }),
        )
        .catch((error: Error) => fail(error.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get completions() {
      return state.completions;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
