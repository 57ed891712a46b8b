/// <reference lib="dom" />
/** The web chat in headless Chromium (Debian's, driven by playwright-core), on a real bot. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import createWebAdapter from '../../adapters/web/index.js';
import { openFeedbackStore, type FeedbackStore } from '../../core/feedback/index.js';
import type { Plugin, Turn } from '../../core/types.js';
import { inspectorProbe, NUM_CANDIDATES, SCREENSHOT_DIR, SCRIPTED, startWebBot, stopWebBot, type WebBot } from './support.js';

let web: WebBot;
let feedback: FeedbackStore;
let browser: Browser;
let context: BrowserContext | undefined;

beforeAll(async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  feedback = await openFeedbackStore('memory://', '.');
  web = await startWebBot({}, [inspectorProbe()], { feedback });
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

/** Records each text the newest bot reply shows, as it changes; the returned function reads them. */
async function recordReplyText(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { shown: string[] }).shown = seen;
    new MutationObserver(() => {
      const text = document.querySelector('.msg.bot:not(.greeting):last-of-type .text')?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document.querySelector('#messages')!, { childList: true, subtree: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { shown: string[] }).shown);
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
    const shown = await recordReplyText(page);
    await say(page, 'please reject everything');
    const reply = page.locator('.msg.bot.done').last();
    const finalText = (await reply.locator('.text').textContent())!;
    const streamed = await shown();
    // Several candidates: nothing to stream, the reply appears whole once selection is done.
    expect(streamed).toEqual([finalText]);
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

describe('feedback in the web chat', () => {
  it('rates a reply with 👎 and a reason; the rating reaches the store with the turn', async () => {
    const page = await openChat();
    await say(page, 'Tell me about the mountain');
    const reply = page.locator('.msg.bot.done').last();
    const turnId = await reply.getAttribute('data-turn-id');
    const box = reply.locator('.feedback');
    await box.locator('button.rate-down').click();
    await expect.poll(() => box.locator('.feedback-note').textContent()).toBe('Thanks for telling me. I will try to do better.');
    expect(await box.locator('button.rate-down').getAttribute('aria-pressed')).toBe('true');
    expect(await box.locator('button.rate-up').getAttribute('aria-pressed')).toBe('false');
    await box.locator('.reason-text').fill('It did not say how tall it is.');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'feedback.png') });
    await box.locator('form.reason button').click();
    await expect.poll(() => box.locator('.feedback-note').textContent()).toBe('Thanks, noted.');
    expect(await box.locator('form.reason').isVisible()).toBe(false);

    const entry = (await feedback.feedback()).find((e) => e.turnId === turnId);
    expect(entry).toMatchObject({ rating: 'down', reason: 'It did not say how tall it is.', turn: { message: 'Tell me about the mountain' } });
    expect(entry!.turn.candidates).toHaveLength(NUM_CANDIDATES);
    expect(entry!.turn.candidates[entry!.turn.chosen].text).toBe(await reply.locator('.text').textContent());
  });

  it('offers no rating on command answers', async () => {
    const page = await openChat();
    await say(page, '/help');
    expect(await page.locator('.msg.system.done').last().locator('.feedback').count()).toBe(0);
  });
});

describe('streaming in the web chat', () => {
  let scripted: WebBot;
  /** Holds the check of the story's second sentence until the test lets it go, so the page can be seen mid-stream. */
  let release: () => void = () => {};
  let held: Promise<void> = Promise.resolve();
  let reachedHold: () => void = () => {};
  const holdSecondSentence: Plugin = {
    name: 'hold',
    async checkPartial({ sentence }) {
      if (!sentence.startsWith('The fox')) return undefined;
      reachedHold();
      await held;
      return undefined;
    },
  };
  const noInsults: Plugin = { name: 'no-insults', checkPartial: ({ sentence }) => (sentence.includes('idiot') ? { reason: 'calls someone an idiot' } : undefined) };

  beforeAll(async () => {
    scripted = await startWebBot({}, [holdSecondSentence, noInsults], { config: SCRIPTED });
  });
  afterAll(async () => {
    await stopWebBot(scripted);
  });

  it('shows a one-candidate reply sentence by sentence as it is written, then whole', async () => {
    const reached = new Promise<void>((resolve) => (reachedHold = resolve));
    held = new Promise<void>((resolve) => (release = resolve));
    const page = await openChat(scripted.url);
    await page.locator('#input').fill('tell me a story');
    await page.locator('#input').press('Enter');
    await reached;
    const streaming = page.locator('.msg.bot.streaming');
    await expect.poll(() => streaming.locator('.text').textContent()).toBe('Once there was a fox.');
    expect(await page.locator('.msg.progress').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'streaming.png') });
    release();
    const done = page.locator('.msg.bot.done').last();
    await done.waitFor();
    expect(await done.locator('.text').textContent()).toBe('Once there was a fox. The fox lived by the sea. Every morning it sang to the waves. The end.');
    expect(await page.locator('.msg.bot.streaming').count()).toBe(0);
    expect(await done.locator('.feedback button.rate').count()).toBe(2);
  });

  it('replaces a stream cut at an unsafe sentence with the fallback, visibly', async () => {
    const page = await openChat(scripted.url);
    const shown = await recordReplyText(page);
    await say(page, 'say something rude');
    const reply = page.locator('.msg.bot.done').last();
    expect(await reply.getAttribute('data-kind')).toBe('fallback');
    // The safe first sentence was shown, the unsafe one never, and the fallback replaced it.
    expect(await shown()).toEqual(['Hello there.', scripted.bot.config.selection.fallback]);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'streaming-cut.png') });
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
