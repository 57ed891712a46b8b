/**
 * In front of Bolt's HTTP receiver: reads the body once (Bolt reuses it as `rawBody`), refuses
 * requests whose timestamp is more than five minutes from this machine's clock in either direction
 * (Bolt checks only the past), and answers 400 to a correctly signed body that is not a JSON
 * object — Bolt reads fields off the parsed body outside its error handling, so `null` would
 * otherwise reject a promise nobody handles. Anything that still goes wrong here answers 500.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { defaultBodyLimit, isValidSlackRequest } from '@slack/bolt';
import type { Logger } from '../../core/index.js';

/** How far a request's timestamp may be from this machine's clock, either way (Slack's own rule). */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export interface GuardOptions {
  signingSecret: string;
  /** Paths Bolt serves events and commands on. */
  endpoints: string[];
  logger: Logger;
}

export function guardRequests(listener: RequestListener, options: GuardOptions): RequestListener {
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://request.invalid').pathname;
    if (request.method !== 'POST' || !options.endpoints.includes(path)) return listener(request, response);
    screen(request, options)
      .then((refusal) => {
        if (refusal) {
          options.logger.warn({ status: refusal.status, remote: request.socket.remoteAddress }, `Slack request refused: ${refusal.reason}`);
          return answer(response, refusal.status);
        }
        listener(request, response);
      })
      .catch((error: unknown) => {
        options.logger.error({ err: error }, 'Slack request failed before Bolt saw it');
        answer(response, 500);
      });
  };
}

type Refusal = { status: 400 | 401 | 413; reason: string };

async function screen(request: IncomingMessage, options: GuardOptions): Promise<Refusal | undefined> {
  const body = await readBody(request, defaultBodyLimit);
  if (body === undefined) return { status: 413, reason: `body over ${defaultBodyLimit} bytes` };
  (request as IncomingMessage & { rawBody: Buffer }).rawBody = body;

  const timestamp = Number(request.headers['x-slack-request-timestamp']);
  if (Number.isFinite(timestamp) && Math.abs(Date.now() / 1000 - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    return { status: 401, reason: 'x-slack-request-timestamp is more than 5 minutes from this machine\'s clock' };
  }
  const text = body.toString('utf8');
  const signature = request.headers['x-slack-signature'];
  // Unsigned and forged requests are Bolt's to refuse (401); only signed ones are looked into.
  if (typeof signature !== 'string' || !Number.isFinite(timestamp)) return undefined;
  if (!isValidSlackRequest({ signingSecret: options.signingSecret, body: text, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } })) {
    return undefined;
  }
  return isObjectBody(text, request.headers['content-type']) ? undefined : { status: 400, reason: 'the body is not a JSON object' };
}

/** JSON bodies and form bodies' `payload` must parse to an object; text that does not parse is Bolt's to refuse. */
function isObjectBody(text: string, contentType: string | undefined): boolean {
  let json: string;
  if (contentType === 'application/x-www-form-urlencoded') {
    const { payload } = parseQuery(text);
    if (typeof payload !== 'string') return true;
    json = payload;
  } else {
    json = text;
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return true;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The whole body, or undefined past `limit` bytes. */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function answer(response: ServerResponse, status: number): void {
  if (response.headersSent) return;
  response.writeHead(status);
  response.end();
}
