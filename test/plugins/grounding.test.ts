import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeTurn } from '../../core/testing/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { ConfigError } from '../../core/config/errors.js';
import { loadPresets } from '../../core/config/presets.js';
import type { BotHost, Candidate, Preset, Turn } from '../../core/types.js';
import createGroundingPlugin, { GroundingPlugin, OVERLAP_SCORE, SUPPORT_SCORE } from '../../plugins/grounding/index.js';
import { termF1 } from '../../plugins/grounding/text.js';
import { makeTestBot } from '../helpers/bot.js';

const PRESETS_DIR = resolve(import.meta.dirname, '../../config/presets');
const HEIGHT = 'Mount Everest: Height';
const FIRST_ASCENT = 'Mount Everest: First ascent';

let cacheDir: string;
let presets: Preset[];
let plugin: GroundingPlugin;

/** What the plugin needs from the bot; the end-to-end tests below run the real one. */
function hostFor(list: Preset[]): BotHost {
  return {
    presets: { list: () => list, get: (name: string) => list.find((p) => p.name === name), route: () => 'default' },
    resolvePath: (path: string) => resolve(cacheDir, path),
  } as unknown as BotHost;
}

function preset(name: string): Preset {
  return presets.find((p) => p.name === name)!;
}

function candidate(text: string): Candidate {
  return { text, tokens: [], logprob: -10, avgLogprob: -1, scores: {} };
}

function turnFor(presetName: string, text: string, history: Turn['prompt']['history'] = []): Turn {
  const chosen = preset(presetName);
  return makeTurn({
    text,
    conversation: { key: 'test:c', preset: chosen.name, history: [], state: {} },
    preset: chosen,
    prompt: { persona: [], knowledge: [], history: [...chosen.greeting, ...history, { role: 'user', text, at: 0 }] },
  });
}

/** Runs score, a stand-in select (first surviving candidate), and finalize, as the core does. */
async function answer(turn: Turn, texts: string[]): Promise<Turn> {
  turn.candidates = texts.map(candidate);
  await plugin.score(turn);
  turn.chosen = turn.candidates.length > 0 ? 0 : -1;
  turn.reply = turn.chosen === 0 ? { text: turn.candidates[0].text, kind: 'model', citations: [] } : { text: 'fallback', kind: 'fallback', citations: [] };
  await plugin.finalize(turn);
  return turn;
}

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'banter-grounding-'));
  presets = await loadPresets([PRESETS_DIR]);
  plugin = createGroundingPlugin() as GroundingPlugin;
  await plugin.setup(hostFor(presets), { cacheDir: join(cacheDir, 'cache') });
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe('retrieval', () => {
  it('returns the Everest height passage for "how tall are you?" under the Everest preset', async () => {
    const turn = turnFor('mount-everest', 'how tall are you?');
    await plugin.prompt(turn);
    expect(turn.evidence[0].title).toBe(HEIGHT);
    expect(turn.evidence[0].text).toContain('8,848.86 metres');
    // The prompt gets the passage's best-matching sentences, short enough for a small model to copy.
    const [snippet] = turn.prompt.knowledge;
    expect(snippet).toContain('8,848.86 metres');
    expect(snippet.length).toBeLessThanOrEqual(360);
  });

  it('cuts the prompt snippet to snippetChars, or puts the whole passage with 0', async () => {
    const snippetFor = async (snippetChars: number): Promise<{ snippet: string; passage: string }> => {
      const configured = new GroundingPlugin();
      await configured.setup(hostFor(presets), { cacheDir, snippetChars });
      const turn = turnFor('mount-everest', 'how tall are you?');
      await configured.prompt(turn);
      return { snippet: turn.prompt.knowledge[0], passage: turn.evidence[0].text };
    };
    const short = await snippetFor(200);
    expect(short.snippet.length).toBeLessThanOrEqual(200);
    expect(short.snippet.length).toBeGreaterThan(0);
    expect(short.passage).toContain(short.snippet.replace(/…$/, ''));
    const whole = await snippetFor(0);
    expect(whole.snippet).toBe(whole.passage);
    expect(whole.passage.length).toBeGreaterThan(200);
  });

  it('keeps no evidence and adds no knowledge when nothing matches well', async () => {
    const turn = turnFor('mount-everest', 'do you like pizza?');
    await plugin.prompt(turn);
    expect(turn.evidence).toEqual([]);
    expect(turn.prompt.knowledge).toEqual([]);
  });

  it('retrieves nothing for a preset without knowledge', async () => {
    const turn = turnFor('default', 'how tall is Mount Everest?');
    await plugin.prompt(turn);
    expect(turn.evidence).toEqual([]);
  });

  it('uses recent context: a follow-up question finds the passage the conversation is about', async () => {
    const history: Turn['prompt']['history'] = [
      { role: 'user', text: 'Tell me about the Khumbu Icefall', at: 0 },
      { role: 'bot', text: 'It is a maze of ice towers above my southern base camp.', at: 0 },
    ];
    const turn = turnFor('mount-everest', 'why is it dangerous?', history);
    await plugin.prompt(turn);
    expect(turn.evidence.map((e) => e.title)).toContain('Mount Everest: The Khumbu Icefall');
  });

  it('reads an ambiguous request as a music request under the music preset', async () => {
    const turn = turnFor('music-recommender', 'something for a rainy day');
    await plugin.prompt(turn);
    expect(turn.evidence[0].title).toBe('Norah Jones');
    expect(turn.evidence[0].url).toBe('https://en.wikipedia.org/wiki/Norah_Jones');
  });
});

describe('knowledge overlap', () => {
  it('scores each candidate by the content-word F1 with the knowledge in the prompt, from any source', async () => {
    const turn = turnFor('default', 'Have you heard of the Beatles?');
    turn.prompt.knowledge = ['The Beatles were an English rock band formed in Liverpool in 1960.'];
    turn.candidates = ['Yes, they were a rock band from Liverpool!', 'I love the Beatles.', 'I like hiking on weekends.'].map(candidate);
    await plugin.score(turn);
    const [uses, names, ignores] = turn.candidates.map((c) => c.scores[OVERLAP_SCORE]);
    expect(uses).toBeGreaterThan(names);
    expect(names).toBeGreaterThan(ignores);
    expect(ignores).toBe(0);
  });

  it('gives no overlap score when the prompt holds no knowledge', async () => {
    const turn = await answer(turnFor('default', 'hello'), ['Hi there!']);
    expect(turn.candidates[0].scores[OVERLAP_SCORE]).toBeUndefined();
    expect(termF1('rock band from Liverpool', 'a rock band formed in Liverpool')).toBeCloseTo((2 * 1 * 0.75) / 1.75);
  });
});

describe('support and citations', () => {
  it('scores supported candidates above unsupported claims, and penalizes those', async () => {
    const turn = turnFor('mount-everest', 'how tall are you?');
    await plugin.prompt(turn);
    turn.candidates = ['My summit stands 8,848.86 metres above sea level.', 'I am 5,000 metres and made of cheese.', 'Thanks for visiting me!'].map(candidate);
    await plugin.score(turn);
    const [supported, claim, chat] = turn.candidates.map((c) => c.scores[SUPPORT_SCORE]);
    expect(supported).toBeGreaterThanOrEqual(0.5);
    expect(claim).toBeLessThan(0);
    expect(chat).toBe(0);
  });

  it("cites the passage a reply uses, and that passage holds the reply's fact", async () => {
    const turn = turnFor('mount-everest', 'who first climbed you?');
    await plugin.prompt(turn);
    expect(turn.evidence.length).toBeGreaterThan(1);
    await answer(turn, ['Edmund Hillary and Tenzing Norgay stood on my summit on 29 May 1953.']);
    expect(turn.reply!.kind).toBe('model');
    expect(turn.reply!.citations).toEqual([{ title: FIRST_ASCENT, url: 'https://en.wikipedia.org/wiki/1953_British_Mount_Everest_expedition' }]);
    const cited = turn.evidence.find((e) => e.title === turn.reply!.citations[0].title && e.url === turn.reply!.citations[0].url)!;
    expect(cited.text).toMatch(/29 May 1953/);
  });

  it('attaches no citation to a reply that uses no passage', async () => {
    const turn = turnFor('mount-everest', 'Hillary was brave to climb you');
    await plugin.prompt(turn);
    expect(turn.evidence.length).toBeGreaterThan(0);
    await answer(turn, ['I love the sound of the wind at night.']);
    expect(turn.reply).toEqual({ text: 'I love the sound of the wind at night.', kind: 'model', citations: [] });
  });

  it('answers a factual question from the evidence, quoted and cited, when no candidate is supported', async () => {
    const turn = turnFor('mount-everest', 'how tall are you?');
    await plugin.prompt(turn);
    await answer(turn, ['I am 5,000 metres and made of cheese.', 'blue blue blue']);
    expect(turn.reply!.kind).toBe('evidence');
    expect(turn.reply!.text).toMatch(/^Here is what the records say about me: ".*8,848\.86 metres.*"$/);
    expect(turn.reply!.citations).toEqual([{ title: HEIGHT, url: 'https://en.wikipedia.org/wiki/Mount_Everest#Surveys' }]);
    expect(turn.chosen).toBe(-1);
  });

  it('quotes the evidence when selection chose an unsupported reply over a supported one', async () => {
    const turn = turnFor('mount-everest', 'how tall are you?');
    await plugin.prompt(turn);
    await answer(turn, ['I am made of cheese.', 'My summit stands 8,848.86 metres above sea level.']);
    expect(turn.candidates[1].scores[SUPPORT_SCORE]).toBeGreaterThanOrEqual(0.5);
    expect(turn.reply!.kind).toBe('evidence');
    expect(turn.reply!.citations.map((c) => c.title)).toEqual([HEIGHT]);
  });

  it('does not count a one-word echo of a passage as support', async () => {
    const turn = turnFor('music-recommender', 'Which band made The Dark Side of the Moon?');
    await plugin.prompt(turn);
    expect(turn.evidence[0].title).toBe('Pink Floyd');
    await answer(turn, ['rock']);
    expect(turn.candidates[0].scores[SUPPORT_SCORE]).toBeLessThan(0.5);
    expect(turn.reply!.kind).toBe('evidence');
  });

  it('keeps a supported model reply instead of quoting the evidence', async () => {
    const turn = turnFor('mount-everest', 'how tall are you?');
    await plugin.prompt(turn);
    await answer(turn, ['My summit stands 8,848.86 metres above sea level, measured in 2020.']);
    expect(turn.reply!.kind).toBe('model');
    expect(turn.reply!.citations.map((c) => c.title)).toEqual([HEIGHT]);
  });

  it('recommends from the catalog with a follow-up question under the music preset', async () => {
    const turn = turnFor('music-recommender', 'I am sad');
    await plugin.prompt(turn);
    await answer(turn, ['zzz qqq']);
    expect(turn.reply!.kind).toBe('evidence');
    expect(turn.reply!.text).toMatch(/^You might like (Adele|Radiohead): ".+" What else do you enjoy listening to\?$/);
    expect(turn.reply!.citations[0].url).toMatch(/^https:\/\/en\.wikipedia\.org\/wiki\/(Adele|Radiohead)$/);
  });

  it('recommends something not already recommended in the conversation', async () => {
    const first = turnFor('music-recommender', 'I am sad');
    await plugin.prompt(first);
    await answer(first, ['zzz qqq']);
    const second = turnFor('music-recommender', 'I am sad');
    second.conversation.history = [
      { role: 'user', text: 'I am sad', at: 0 },
      { role: 'bot', text: first.reply!.text, at: 0 },
    ];
    await plugin.prompt(second);
    await answer(second, ['zzz qqq']);
    expect(second.reply!.kind).toBe('evidence');
    expect(second.reply!.citations[0].title).not.toBe(first.reply!.citations[0].title);
    expect(second.evidence.map((e) => e.title)).toContain(second.reply!.citations[0].title);
  });

  it('leaves commands and refusals alone', async () => {
    const turn = turnFor('mount-everest', 'how tall are you?');
    await plugin.prompt(turn);
    turn.reply = { text: 'Preset set.', kind: 'command', citations: [] };
    await plugin.finalize(turn);
    expect(turn.reply).toEqual({ text: 'Preset set.', kind: 'command', citations: [] });
  });
});

describe('preset overrides', () => {
  it('rejects a bad grounding override at setup, naming the preset file and the setting', async () => {
    const everest = preset('mount-everest');
    const broken: Preset = { ...everest, file: '/presets/broken.yaml', plugins: { grounding: { topk: 3 } } };
    const fresh = createGroundingPlugin();
    const error = await Promise.resolve(fresh.setup!(hostFor([broken]), {})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^\/presets\/broken\.yaml: \/plugins\/grounding\/topk: .*did you mean "topK"/);
  });
});

/** Whether `needle` occurs as a contiguous run in `haystack`. */
function containsRun(haystack: number[], needle: number[]): boolean {
  outer: for (let start = 0; start + needle.length <= haystack.length; start++) {
    for (let i = 0; i < needle.length; i++) if (haystack[start + i] !== needle[i]) continue outer;
    return true;
  }
  return false;
}

describe('through the real bot', () => {
  let bot: Bot;
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'banter-grounding-bot-'));
    // The fixture model reads only 128 tokens: a preset with one short passage shows the prompt wiring.
    const presetsDir = join(workDir, 'presets');
    await mkdir(join(presetsDir, 'facts'), { recursive: true });
    await writeFile(join(presetsDir, 'facts', 'ferns.md'), '# Ferns\nSource: https://example.org/ferns\n\nFerns like shade.\n');
    await writeFile(join(presetsDir, 'ferns.yaml'), 'knowledge: [facts]\n');
    await copyFile(join(PRESETS_DIR, 'mount-everest.yaml'), join(presetsDir, 'mount-everest.yaml'));
    await symlink(join(PRESETS_DIR, 'knowledge'), join(presetsDir, 'knowledge'));
    bot = await makeTestBot({
      decoding: { numCandidates: 3, seed: 7, maxNewTokens: 6 } as never,
      plugins: { persona: {}, grounding: { cacheDir: join(workDir, 'cache') } },
      presets: { dirs: [presetsDir], default: 'default', routes: { 'test:everest': 'mount-everest', 'test:ferns': 'ferns' } } as never,
    });
  });
  afterAll(async () => {
    await bot?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  async function ask(channel: string, text: string): Promise<Turn> {
    let seen: Turn | undefined;
    const off = bot.events.on('turn:end', ({ turn }) => (seen = turn));
    await bot.handle({ platform: 'test', channel, text, user: { id: 'u1' } });
    off();
    return seen!;
  }

  it("puts the retrieved passage into the encoded prompt in the model's knowledge format", async () => {
    const turn = await ask('ferns', 'do ferns like shade?');
    expect(turn.evidence.map((e) => [e.title, e.url])).toEqual([['Ferns', 'https://example.org/ferns']]);
    const knowledge = bot.engine.tokenizer.encodeMarkup(bot.engine.format!.knowledge!.replace('{text}', 'Ferns like shade.'));
    expect(containsRun(turn.promptTokens, knowledge)).toBe(true);
  });

  it('answers "how tall are you?" under the Everest preset with the height passage, cited', async () => {
    const turn = await ask('everest', 'how tall are you?');
    expect(turn.evidence[0].title).toBe(HEIGHT);
    // The fixture model writes gibberish: no candidate is supported, so the reply is the evidence.
    expect(turn.candidates.some((c) => (c.scores[SUPPORT_SCORE] ?? 0) >= 0.5)).toBe(false);
    expect(turn.reply!.kind).toBe('evidence');
    expect(turn.reply!.text).toContain('8,848.86 metres');
    expect(turn.reply!.citations).toEqual([{ title: HEIGHT, url: turn.evidence[0].url }]);
  });

  it('answers a question with no matching passage without a citation', async () => {
    const turn = await ask('everest:2', 'do you like pizza?');
    expect(turn.evidence).toEqual([]);
    expect(turn.reply!.citations).toEqual([]);
    expect(turn.reply!.kind).not.toBe('evidence');
  });
});
