/** Shared by the web chat tests: a real bot on the fixture model with the web adapter, and a frame-level client. */
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import type { Bot } from '../../core/bot.js';
import type { AdmissionState } from '../../core/admission/index.js';
import type { FeedbackStore } from '../../core/feedback/index.js';
import type { HistoryStore } from '../../core/history/store.js';
import type { Plugin } from '../../core/types.js';
import createWebAdapter, { type ServerFrame, type WebAdapter, type WebConfig } from '../../adapters/web/index.js';
import { loadConfig } from '../../core/config/load.js';
import { makeTestBot, PLAIN_PRESETS, type ConfigOverrides } from '../helpers/bot.js';

export const PRESETS_DIR = resolve(import.meta.dirname, 'fixtures/presets');
/** The test bot's decoding numCandidates: the inspector must show exactly this many rows. */
export const NUM_CANDIDATES = 4;
export const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../test-output/web');
/** A model that says known multi-sentence replies (tools/gpt2/make_script_fixture.py), for streaming. */
export const SCRIPT_MODEL = resolve(import.meta.dirname, '../fixtures/tiny-gpt2-script');
/** Config for a bot on SCRIPT_MODEL that streams: greedy decoding (one candidate), the plain default preset. */
export const SCRIPTED: ConfigOverrides = {
  engine: { model: SCRIPT_MODEL },
  decoding: { strategy: 'greedy', numCandidates: 1, maxNewTokens: 48, noRepeatNgramSize: 0 },
  presets: PLAIN_PRESETS,
};

export interface WebBot {
  bot: Bot;
  adapter: WebAdapter;
  /** The page's URL (with `?token=` when one is configured). */
  url: string;
  /** ws:// URL of the socket, without a token. */
  socketUrl: string;
}

/**
 * A real bot (fixture model, the test presets beside the shipped ones) with the web adapter.
 * The shipped config's plugins are switched off unless asked for, so that what the page shows
 * comes from `plugins` alone and the assertions stay exact while the shipped plugins evolve.
 */
export async function startWebBot(
  web: WebConfig = {},
  plugins: Plugin[] = [],
  options: { shippedPlugins?: boolean; history?: HistoryStore; feedback?: FeedbackStore; config?: ConfigOverrides; admissionState?: AdmissionState } = {},
): Promise<WebBot> {
  const shipped = (await loadConfig()).config.plugins;
  const bot = await makeTestBot(
    {
      decoding: { numCandidates: NUM_CANDIDATES, maxNewTokens: 12, seed: 7, strategy: 'sample' },
      presets: { dirs: [PRESETS_DIR], default: 'alpha', routes: {} },
      plugins: options.shippedPlugins ? {} : Object.fromEntries(Object.keys(shipped).map((name) => [name, false])),
      ...options.config,
    },
    { plugins, adapters: [], history: options.history, feedback: options.feedback, saveRetryDelaysMs: [1], admissionState: options.admissionState },
  );
  const adapter = createWebAdapter();
  try {
    await adapter.start(bot, { port: 0, ...web });
  } catch (error) {
    await bot.stop();
    throw error;
  }
  // The adapter's address leaves the token out (a secret); the tests open the page with it.
  const url = web.accessToken ? `${adapter.url}?token=${encodeURIComponent(web.accessToken)}` : adapter.url;
  const page = new URL(url);
  return { bot, adapter, url, socketUrl: `ws://${page.host}/ws` };
}

/** After a test: closes its clients (emptying the list) and stops its bot. */
export async function endWebTest(clients: FrameClient[], web: WebBot | undefined): Promise<void> {
  for (const client of clients.splice(0)) client.close();
  await stopWebBot(web);
}

export async function stopWebBot(web: WebBot | undefined): Promise<void> {
  if (!web) return;
  await web.adapter.stop();
  await web.bot.stop();
}

/**
 * A plugin that exercises what the inspector shows: the preset's persona, extra scores, a
 * rejection with a reason, knowledge and evidence, and a citation. "reject everything" in a message makes every candidate
 * fail, so the bot falls back.
 */
export function inspectorProbe(): Plugin {
  return {
    name: 'probe',
    prompt(turn) {
      turn.prompt.persona.push(...turn.preset.persona);
      turn.prompt.knowledge.push('Mount Everest is 8,849 metres tall.');
      turn.evidence.push({ id: 'everest', title: 'Mount Everest', url: 'https://example.org/everest', text: 'Mount Everest is 8,849 metres tall.', score: 0.82 });
    },
    score(turn) {
      turn.candidates.forEach((candidate, index) => {
        candidate.scores['safety.probe'] = index / 10;
        candidate.scores['grounding.support'] = Math.min(1, candidate.text.length / 40);
      });
    },
    filter(turn) {
      const all = turn.message.text.includes('reject everything');
      turn.candidates.forEach((candidate, index) => {
        if (all || index === 1) candidate.rejected ??= { by: 'probe', reason: all ? 'asked to reject everything' : 'safety.probe 0.10 > 0.05' };
      });
    },
    finalize(turn) {
      if (turn.reply?.kind === 'model') turn.reply.citations = [{ title: 'Mount Everest', url: 'https://example.org/everest' }];
    },
  };
}

type Frame = ServerFrame;

/** A WebSocket client that keeps every frame it gets, so a test can wait for the one it needs. */
export class FrameClient {
  private readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const wake of [...this.waiters]) wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<FrameClient> {
    const socket = new WebSocket(url, options);
    const client = new FrameClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    });
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Removes and returns the first frame (already received or coming) that matches. */
  take<T extends Frame['type']>(type: T, match: (frame: Extract<Frame, { type: T }>) => boolean = () => true, timeoutMs = 45_000): Promise<Extract<Frame, { type: T }>> {
    return new Promise((resolve, reject) => {
      const look = (): boolean => {
        const index = this.frames.findIndex((f) => f.type === type && match(f as Extract<Frame, { type: T }>));
        if (index === -1) return false;
        const [frame] = this.frames.splice(index, 1);
        resolve(frame as Extract<Frame, { type: T }>);
        return true;
      };
      if (look()) return;
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`no "${type}" frame within ${timeoutMs} ms; got: ${this.frames.map((f) => f.type).join(', ')}`));
      }, timeoutMs);
      const wake = (): void => {
        if (look()) {
          clearTimeout(timer);
          this.waiters.delete(wake);
        }
      };
      this.waiters.add(wake);
    });
  }

  /** Every frame received and not taken yet. */
  pending(): Frame[] {
    return [...this.frames];
  }

  close(): void {
    this.socket.close();
  }
}

/** Why an upgrade was refused: the HTTP status and body, or undefined when it opened. */
export function upgradeRefusal(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => {
      socket.close();
      resolve(undefined);
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}
