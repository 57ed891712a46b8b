import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { renderReply, TerminalAdapter } from '../../adapters/terminal/index.js';
import { makeTestBot } from '../helpers/bot.js';

let bot: Bot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** Starts a terminal chat on piped streams; returns what it printed once it has finished. */
async function chat(lines: string[], config: { preset?: string } = {}): Promise<{ output: string; adapter: TerminalAdapter }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk) => (printed += chunk));
  const adapter = new TerminalAdapter(input, output);
  bot = await makeTestBot({}, { adapters: [{ adapter, config: { channel: 'local', prompt: 'you> ', ...config } }] });
  await bot.start();
  input.end(lines.map((l) => `${l}\n`).join(''));
  await adapter.finished;
  return { output: printed, adapter };
}

describe('terminal adapter', () => {
  it('answers each line, runs commands, and finishes on /quit without reading further', async () => {
    const { output } = await chat(['hello there', '/help', '/quit', 'never read']);
    const [greeting, ...replies] = output.split('\n').filter((l) => l.startsWith('bot'));
    // The shipped default preset opens the chat with its greeting.
    expect(greeting).toBe(`bot> ${bot!.presets.get('default')!.greeting.at(-1)!.text}`);
    expect(replies).toHaveLength(2);
    expect(output).toMatch(/\/reset - Forget/);
    const history = (await bot!.conversation({ platform: 'terminal', channel: 'local' })).history;
    expect(history.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['hello there']);
  });

  it('finishes at the end of piped input', async () => {
    const { output } = await chat(['one line']);
    expect(output.split('\n').filter((l) => l.startsWith('bot'))).toHaveLength(2); // the greeting and the reply
  });

  it('starts with the preset given and refuses an unknown one', async () => {
    const { output } = await chat(['/preset'], { preset: 'default' });
    expect(output).toMatch(/default \(current\)/);
    const adapter = new TerminalAdapter(new PassThrough(), new PassThrough());
    const other = await makeTestBot({}, { adapters: [{ adapter, config: { channel: 'x', preset: 'no-such-preset' } }] });
    await expect(other.start()).rejects.toThrow(/No preset named "no-such-preset"/);
    await other.stop();
  });

  it('renders citations as numbered footnotes and marks fallbacks', () => {
    expect(renderReply({ text: 'It is 8,849 m.', kind: 'model', citations: [{ title: 'Height', url: 'https://example.org/h' }] })).toBe(
      'bot> It is 8,849 m.\n  [1] Height <https://example.org/h>',
    );
    expect(renderReply({ text: 'Sorry.', kind: 'fallback', citations: [] })).toBe('bot (fallback)> Sorry.');
  });
});
