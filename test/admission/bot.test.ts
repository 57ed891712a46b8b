import { afterEach, describe, expect, test } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { MemoryAdmissionState } from '../../core/admission/index.js';
import { createLogger } from '../../core/log.js';
import type { BotEvents, IncomingMessage, Reply } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';

const bots: Bot[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.stop()));
});

const message = (text: string, user = 'u1'): IncomingMessage => ({ platform: 'test', channel: 'c1', text, user: { id: user } });

async function bot(admission: Record<string, unknown>): Promise<Bot> {
  const b = await makeTestBot({ admission } as never, { logger: createLogger('silent'), admissionState: new MemoryAdmissionState() });
  bots.push(b);
  return b;
}

describe('admission in the bot', () => {
  test('beyond the conversation cap each message gets one busy notice, which is evented and not stored', async () => {
    const b = await bot({ maxPerConversation: 1 });
    const refused: BotEvents['admission:refused'][] = [];
    b.events.on('admission:refused', (event) => refused.push(event));
    const delivered: Reply[] = [];
    const deliver = async (reply: Reply) => void delivered.push(reply);
    // All three are admitted or refused before the first turn's engine call returns.
    const replies = await Promise.all(['one', 'two', 'three'].map((text) => b.handle(message(text), deliver)));
    expect(replies.map((r) => r.kind)).toEqual(['model', 'busy', 'busy']);
    // Each message is answered exactly once; the notices go out before the running turn's reply.
    expect(delivered).toEqual([replies[1], replies[2], replies[0]]);
    expect(refused.map((e) => [e.message.text, e.reason])).toEqual([['two', 'conversation'], ['three', 'conversation']]);
    const history = (await b.conversation({ platform: 'test', channel: 'c1' })).history;
    expect(history.map((t) => [t.role, t.text])).toEqual([['user', 'one'], ['bot', replies[0]!.text]]);
    expect((await b.handle(message('four'))).kind).toBe('model');
  });

  test('drop answers nothing; a rate-limited user gets the polite notice', async () => {
    const dropping = await bot({ maxPerConversation: 1, policy: 'drop' });
    const delivered: Reply[] = [];
    const replies = await Promise.all(['one', 'two'].map((text) => dropping.handle(message(text), async (r) => void delivered.push(r))));
    expect(replies.map((r) => r.kind)).toEqual(['model', 'dropped']);
    expect(delivered.map((r) => r.kind)).toEqual(['model']);

    const limited = await bot({ userRate: { capacity: 1, perSecond: 0.000001 } });
    expect((await limited.handle(message('hi'))).kind).toBe('model');
    expect(await limited.handle(message('again'))).toMatchObject({ kind: 'rate-limited' });
    expect((await limited.handle(message('other user', 'u2'))).kind).toBe('model');
  });
});
