/// <reference lib="dom" />
/** The web chat in headless Chromium (Debian's, driven by playwright-core), on a real bot. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import createWebAdapter from '../../adapters/web/index.js';
import { chunkReply } from '../../adapters/web/stream.js';
import type { Turn } from '../../core/types.js';
import { inspectorProbe, NUM_CANDIDATES, SCREENSHOT_DIR, startWebBot, stopWebBot, type WebBot } from './support.js';

let web: WebBot;
let browser: Browser;
let context: BrowserContext | undefined;

beforeAll(async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  web = await startWebBot({}, [inspectorProbe()]);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterEach(async () => {
  await context?.close();
  context = undefined;
});

afterAll(async () => {
  await browser?.close();
  await stopWebBot(web);
});

/** A conversation of the browser context the last page opened in: web:<its cookie>:<conversation id>. */
async function storedConversation(conversation: string) {
  const client = (await context!.cookies()).find((cookie) => cookie.name === 'banter_client')?.value;
  expect(client, 'the page sets the banter_client cookie').toBeDefined();
  return web.bot.conversation({ platform: 'web', channel: client!, thread: conversation });
}

async function openChat(url = web.url): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  await page.locator('#connection[data-state="online"]').waitFor();
  // Script errors would otherwise only show up as a confusing timeout later.
  expect(errors).toEqual([]);
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  const before = await page.locator('.msg.bot.done, .msg.system.done').count();
  await page.locator('#input').fill(text);
  await page.locator('#input').press('Enter');
  await page.locator('.msg.bot.done, .msg.system.done').nth(before).waitFor();
}

async function currentConversation(page: Page): Promise<string> {
  return page.locator('#conversation-select').inputValue();
}

describe('web chat in a browser', () => {
  it('chats, then shows every candidate with its scores in the inspector', async () => {
    const page = await openChat();
    await expect.poll(() => page.locator('#preset-select option').allTextContents()).toEqual(expect.arrayContaining(['alpha', 'beta']));
    const offered = await page.locator('#preset-select option').allTextContents();
    expect(offered.sort()).toEqual(web.bot.presets.list().map((p) => p.name).sort());
    expect(await page.locator('#preset-select').inputValue()).toBe('alpha');

    await say(page, 'How tall is Mount Everest?');
    await expect.poll(() => page.locator('.msg.user .text').allTextContents()).toEqual(['How tall is Mount Everest?']);
    const reply = page.locator('.msg.bot.done').last();
    const replyText = (await reply.locator('.text').textContent()) ?? '';
    expect(replyText.trim().length).toBeGreaterThan(0);
    const citation = reply.locator('.citations a');
    expect(await citation.getAttribute('href')).toBe('https://example.org/everest');
    expect(await citation.getAttribute('rel')).toContain('noopener');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'chat.png') });

    await reply.locator('button.inspect').click();
    const rows = page.locator('#inspector table.candidates tbody tr');
    await expect.poll(() => rows.count()).toBe(NUM_CANDIDATES);
    const headers = await page.locator('#inspector table.candidates thead th').allTextContents();
    expect(headers).toEqual(expect.arrayContaining(['logprob', 'avg', 'safety.probe', 'grounding.support', 'total']));
    // Every candidate shows a number for each score.
    for (const key of ['safety.probe', 'grounding.support']) {
      const cells = await page.locator(`#inspector td[data-score="${key}"]`).allTextContents();
      expect(cells).toHaveLength(NUM_CANDIDATES);
      for (const cell of cells) expect(cell).toMatch(/^-?\d+\.\d+$/);
    }
    const chosen = page.locator('#inspector tr.chosen');
    expect(await chosen.count()).toBe(1);
    expect(await chosen.locator('.cand').textContent()).toBe(replyText);
    const rejected = page.locator('#inspector tr.rejected');
    expect(await rejected.locator('.reason').first().textContent()).toContain('rejected by probe: safety.probe 0.10 > 0.05');
    expect(await rejected.locator('.cand').first().evaluate((node) => getComputedStyle(node).textDecorationLine)).toBe('line-through');

    const prompt = (await page.locator('#inspector .prompt-section').textContent()) ?? '';
    expect(prompt).toContain('I am Alpha, a cheerful test bot.');
    expect(prompt).toContain('Mount Everest is 8,849 metres tall.');
    // The preset's greeting pre-conditions the prompt's history.
    expect(prompt).toContain("Hi, I'm Alpha. What would you like to talk about?");
    expect(await page.locator('#inspector .evidence a').getAttribute('href')).toBe('https://example.org/everest');
    const stages = await page.locator('#inspector table.timings .stage').allTextContents();
    expect(stages).toEqual(expect.arrayContaining(['prompt', 'generate', 'score', 'filter', 'select', 'finalize']));
    expect(await reply.evaluate((node) => node.classList.contains('inspected'))).toBe(true);

    // The panes scroll inside the window: grow the window so the screenshot holds the whole inspector.
    const height = await page.locator('#inspector').evaluate((node) => node.getBoundingClientRect().top + node.scrollHeight);
    await page.setViewportSize({ width: 1440, height: Math.ceil(height) + 8 });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'inspector.png') });
  });

  it('shows a visible notice when the reply is the safety fallback', async () => {
    const page = await openChat();
    // Record what the reply bubble shows as the stream arrives.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { streamed: string[] }).streamed = seen;
      new MutationObserver(() => {
        const text = document.querySelector('.msg.bot:not(.greeting):last-of-type .text')?.textContent;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.querySelector('#messages')!, { childList: true, subtree: true, characterData: true });
    });
    await say(page, 'please reject everything');
    const reply = page.locator('.msg.bot.done').last();
    const finalText = (await reply.locator('.text').textContent())!;
    const streamed = await page.evaluate(() => (window as unknown as { streamed: string[] }).streamed);
    // It grew word by word: every state a prefix of the reply, as many states as chunks.
    expect(streamed.at(-1)).toBe(finalText);
    for (const state of streamed) expect(finalText.startsWith(state)).toBe(true);
    expect(streamed.length).toBe(chunkReply(finalText).length);
    expect(await reply.getAttribute('data-kind')).toBe('fallback');
    expect(await reply.locator('.kind-notice').textContent()).toMatch(/Safety fallback/);
    expect(await reply.locator('.kind-notice').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#inspector tr.rejected').count()).toBe(NUM_CANDIDATES);
    expect(await page.locator('#inspector tr.chosen').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'fallback.png') });
  });

  it('refuses oversized input with a visible message', async () => {
    const page = await openChat();
    // Over the socket's frame limit (64 KiB): the page refuses it before sending.
    await page.locator('#input').fill('x'.repeat(70_000));
    await page.locator('#input').press('Enter');
    await page.locator('#notice').waitFor({ state: 'visible' });
    expect(await page.locator('#notice').textContent()).toMatch(/too long: the server accepts at most 65536 bytes/);
    expect(await page.locator('.msg.user').count()).toBe(0);
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('online');

    // Under the frame limit but over the bot's maxMessageLength: the bot refuses, visibly.
    await say(page, 'y'.repeat(5000));
    const reply = page.locator('.msg.bot.done').last();
    expect(await reply.getAttribute('data-kind')).toBe('refusal');
    expect(await reply.locator('.kind-notice').textContent()).toMatch(/Refused/);
    expect(await reply.locator('.text').textContent()).toMatch(/too long/);
  });

  it('switches preset and resets the conversation', async () => {
    const page = await openChat();
    const channel = await currentConversation(page);
    await say(page, 'hello');
    expect((await storedConversation(channel)).history).toHaveLength(2);

    await page.locator('#preset-select').selectOption('beta');
    await page.locator('.msg.system.done', { hasText: 'Preset set to beta' }).waitFor();
    expect((await storedConversation(channel)).preset).toBe('beta');
    // Switching clears the history, so the page shows none of the old turns.
    await expect.poll(() => page.locator('.msg.user, .msg.bot').count()).toBe(0);

    await say(page, 'hi beta');
    expect(await page.locator('.msg.user').count()).toBe(1);
    await page.locator('#reset').click();
    await page.locator('.msg.system.done', { hasText: 'History cleared' }).waitFor();
    await expect.poll(() => page.locator('.msg.user, .msg.bot').count()).toBe(0);
    const stored = await storedConversation(channel);
    expect(stored.history).toEqual([]);
    expect(stored.preset).toBe('beta');
    expect(await page.locator('#preset-select').inputValue()).toBe('beta');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'reset.png') });
  });

  it('keeps conversations apart and restores one from the history store', async () => {
    const page = await openChat();
    const first = await currentConversation(page);
    await say(page, 'first conversation');

    await page.locator('#new-conversation').click();
    const second = await currentConversation(page);
    expect(second).not.toBe(first);
    // A new conversation shows only its preset's greeting.
    await expect.poll(() => page.locator('.msg').allTextContents()).toEqual(["Hi, I'm Alpha. What would you like to talk about?"]);
    expect(await page.locator('.msg.greeting').count()).toBe(1);
    await say(page, 'second conversation');
    expect((await storedConversation(second)).history[0].text).toBe('second conversation');

    await page.locator('#conversation-select').selectOption(first);
    await expect.poll(() => page.locator('.msg.user .text').allTextContents()).toEqual(['first conversation']);
    await page.reload();
    await page.locator('#connection[data-state="online"]').waitFor();
    await expect.poll(() => page.locator('#conversation-select option').count()).toBe(2);
  });

  it('asks for the access token when one is set', async () => {
    const guarded = createWebAdapter();
    await guarded.start(web.bot, { port: 0, accessToken: 'browser-test-token' });
    try {
      const page = await openChat(`${guarded.url}?token=browser-test-token`);
      await say(page, 'hello with a token');
      expect(await page.locator('.msg.bot.done').count()).toBe(1);
      const response = await page.goto(guarded.url);
      expect(response?.status()).toBe(401);
      expect(await page.textContent('body')).toMatch(/\?token=/);
    } finally {
      await guarded.stop();
    }
  });
});

describe('web chat with the shipped plugins and presets', () => {
  let shipped: WebBot;
  beforeAll(async () => {
    shipped = await startWebBot({}, [], { shippedPlugins: true });
  });
  afterAll(async () => {
    await stopWebBot(shipped);
  });

  it('shows every score the enabled plugins set, for every candidate', async () => {
    const turns: Turn[] = [];
    shipped.bot.events.on('turn:end', ({ turn }) => turns.push(turn));
    const page = await openChat(shipped.url);
    await page.locator('#preset-select').selectOption('mount-everest');
    await page.locator('.msg.system.done', { hasText: 'mount-everest' }).waitFor();
    await page.locator('.msg.greeting', { hasText: 'Mount Everest' }).waitFor();

    await say(page, 'How tall are you?');
    await page.locator('.msg.bot.done').last().locator('button.inspect').click();
    const turn = turns.at(-1)!;
    const rows = page.locator('#inspector table.candidates tbody tr');
    await expect.poll(() => rows.count()).toBe(turn.candidates.length);
    expect(turn.candidates.length).toBe(turn.decoding.numCandidates);
    const pluginScores = [...new Set(turn.candidates.flatMap((c) => Object.keys(c.scores)))].filter((k) => k !== 'logprob' && k !== 'avgLogprob');
    for (const key of pluginScores) {
      expect(await page.locator(`#inspector td[data-score="${key}"]`).count()).toBe(turn.candidates.length);
    }
    expect(await page.locator('#inspector tr.rejected').count()).toBe(turn.candidates.filter((c) => c.rejected).length);
    expect(await page.locator('#inspector tr.chosen').count()).toBe(turn.chosen === -1 ? 0 : 1);
    const persona = await page.locator('#inspector .prompt-section li').allTextContents();
    expect(persona).toEqual(expect.arrayContaining(turn.prompt.persona));

    const height = await page.locator('#inspector').evaluate((node) => node.getBoundingClientRect().top + node.scrollHeight);
    await page.setViewportSize({ width: 1440, height: Math.ceil(height) + 8 });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'shipped-plugins.png') });
  });
});
