import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { Plugin, Turn } from '../../core/types.js';
import { checkConsistency, consistencyScore, selfNamesFrom, type RoleProfile } from '../../plugins/persona/consistency.js';
import { agrees, askedTopic, contradicts, factsOf } from '../../plugins/persona/facts.js';
import createPersonaPlugin, { CONSISTENCY_SCORE, FACTS_SCORE } from '../../plugins/persona/index.js';
import { makeTestBot } from '../helpers/bot.js';

const everest: RoleProfile = {
  persona: ['I am Mount Everest, the highest mountain on Earth above sea level.', 'I love the snow on my summit.'],
  role: true,
  selfNames: ['Mount Everest', 'Everest', 'Sagarmatha'],
  facts: [],
};
const penalties = { 'third-person': 0.5, 'breaks-role': 1, contradiction: 1, fact: 1 };
const kinds = (reply: string, profile = everest) => checkConsistency(reply, profile).map((v) => v.kind);

describe('role consistency', () => {
  it('accepts a reply in character', () => {
    expect(kinds("I'm Mount Everest, and my summit is 8,848.86 metres high.")).toEqual([]);
    expect(kinds('Climbers rest at Everest Base Camp before the icefall.')).toEqual([]);
    expect(kinds('I was named after Sir George Everest. In Nepal I am called Sagarmatha, and I am also known as Chomolungma.', { ...everest, selfNames: [...everest.selfNames, 'Chomolungma'] })).toEqual([]);
    expect(consistencyScore([], penalties)).toBe(1);
  });

  it('penalizes the role speaking of itself in the third person', () => {
    expect(kinds('Mount Everest is the highest mountain in the world.')).toEqual(['third-person']);
    expect(kinds("Everest's summit is very cold.")).toEqual(['third-person']);
    expect(kinds('Visiting Everest is hard work.')).toEqual(['third-person']);
    expect(kinds('Many climbers love Everest.')).toEqual(['third-person']);
    expect(consistencyScore(checkConsistency('Everest is tall.', everest), penalties)).toBe(0.5);
  });

  it('does not count quoted evidence as the role speaking', () => {
    expect(kinds('My records say: "Everest was first climbed in 1953."')).toEqual([]);
  });

  it('penalizes stepping out of a role, but not when there is no role', () => {
    expect(kinds('As an AI, I have no height.')).toEqual(['breaks-role']);
    expect(kinds("I'm just a language model, sorry.")).toEqual(['breaks-role']);
    expect(kinds('As an AI, I have no height.', { persona: [], role: false, selfNames: [], facts: [] })).toEqual([]);
  });

  it('penalizes a statement that negates a persona line', () => {
    expect(kinds("I don't love the snow on my summit.")).toEqual(['contradiction']);
    expect(kinds('Do I love the snow on my summit?')).toEqual([]);
    expect(kinds('I love the snow on my summit.')).toEqual([]);
    expect(kinds('I am not the highest mountain on Earth.')).toEqual(['contradiction']);
    expect(kinds('I am not the only mountain on Earth.')).toEqual([]);
    const negativePersona: RoleProfile = { persona: ['I do not eat meat.'], role: false, selfNames: [], facts: factsOf('I do not eat meat.') };
    expect(kinds('I eat meat every day.', negativePersona)).toEqual(['fact', 'contradiction']);
  });

  it('adds penalties up and floors the score at 0', () => {
    const violations = checkConsistency("As an AI I can say Everest isn't fond of snow. I don't love the snow on my summit.", everest);
    expect(violations.map((v) => v.kind).sort()).toEqual(['breaks-role', 'contradiction', 'third-person']);
    expect(consistencyScore(violations, penalties)).toBe(0);
  });

  it('finds the names a persona introduces itself with', () => {
    expect(selfNamesFrom(["Hi, I'm Mount Everest.", 'I am Sherlock Holmes, a detective.', 'I am a music lover.'])).toEqual(['Mount Everest', 'Sherlock Holmes']);
  });
});

/** Whether some fact of `reply` contradicts one of `persona`. */
const clash = (persona: string, reply: string) => factsOf(reply).some((said) => factsOf(persona).some((known) => contradicts(known, said)));
const agreement = (persona: string, reply: string) => factsOf(reply).some((said) => factsOf(persona).some((known) => agrees(known, said)));

describe('persona facts', () => {
  it('reads the facts people ask about first', () => {
    expect(factsOf('My name is banter.')).toEqual([{ topic: 'name', value: 'banter', holds: true }]);
    expect(factsOf('I am unmarried and do not have any children.')).toEqual([
      { topic: 'children', value: '', holds: false },
      { topic: 'marriage', value: '', holds: false },
    ]);
    expect(factsOf('I have two dogs named Max and Ruby.')).toEqual([{ topic: 'pets', value: 'dog', holds: true }]);
    expect(factsOf("I'm a nurse at the local hospital.")).toEqual([{ topic: 'job', value: 'nurse', holds: true }]);
    expect(factsOf('I am 32 years old.')).toEqual([{ topic: 'age', value: '32', holds: true }]);
    expect(factsOf('I live in Ohio with my husband.')).toEqual([
      { topic: 'marriage', value: '', holds: true },
      { topic: 'location', value: 'ohio', holds: true },
    ]);
    expect(factsOf('Do you have any pets?')).toEqual([]);
  });

  it("reads a greeting's self-introduction as a name, and not a mood", () => {
    expect(factsOf("Hi, I'm Sam. How are you?")).toEqual([{ topic: 'name', value: 'sam', holds: true }]);
    expect(factsOf('Hello! I am George and I love hiking.')).toContainEqual({ topic: 'name', value: 'george', holds: true });
    expect(clash('My name is banter.', "Hi, I'm Sam.")).toBe(true);
    // A mood, a lower-case word, a longer phrase, no greeting: not read as a name.
    for (const reply of ["Hi, I'm good, thanks.", "Hi, I'm Fine.", "Hey, I'm Canadian too and I love it", "Hi, I'm Mount Everest.", "I'm Sam."]) {
      expect(factsOf(reply).filter((fact) => fact.topic === 'name'), reply).toEqual([]);
    }
  });

  it('finds the contradictions of the issue and their look-alikes', () => {
    expect(clash('I am unmarried and do not have any children.', 'Yes, I have two kids.')).toBe(true);
    expect(clash('I am vegan.', 'No, I love pepperoni pizza!')).toBe(true);
    expect(clash('My name is banter.', 'My name is George.')).toBe(true);
    expect(clash('I have a cat named Whiskers.', "I don't have any pets.")).toBe(true);
    expect(clash('I live in Ohio.', 'I live in New York City.')).toBe(true);
    expect(clash('I am a teacher.', "I'm a lawyer, it keeps me busy.")).toBe(true);
    // Not contradictions: another pet, a generic place, a denial of a different species, a vegan meal.
    expect(clash('I have a cat named Whiskers.', 'I have a dog too.')).toBe(false);
    expect(clash('I live in Ohio.', 'I live in a small town.')).toBe(false);
    expect(clash('I have a dog.', "I don't have a cat.")).toBe(false);
    expect(clash('I am vegan.', 'I love vegan pizza.')).toBe(false);
    expect(clash('My name is banter.', 'My name is banter, nice to meet you!')).toBe(false);
  });

  it('sees a reply that states a persona fact the same way', () => {
    expect(agreement('I have two dogs.', 'Yes, I have a dog, he is a golden retriever.')).toBe(true);
    expect(agreement('I am vegan.', "I'm vegan, so mostly salads.")).toBe(true);
    expect(agreement('I am a teacher.', 'I love music.')).toBe(false);
  });

  it('knows which fact a question asks about', () => {
    expect(askedTopic("What's your name?")).toBe('name');
    expect(askedTopic('Do you have any kids?')).toBe('children');
    expect(askedTopic('What do you do for a living?')).toBe('job');
    expect(askedTopic('Where do you live?')).toBe('location');
    expect(askedTopic('Do you like jazz?')).toBeUndefined();
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

describe('persona through the real bot', () => {
  // The fixture model reads only 128 tokens, so these tests use a preset with short lines.
  const PERSONA = ['I am Ivy.', 'I am a fern.', 'My name is Ivy.'];
  const GREETING = "Hi, I'm Ivy.";
  let bot: Bot;
  let presetsDir: string;
  /** Replaces the fixture model's gibberish with fixed candidates of equal likelihood. */
  const fixedCandidates: Plugin = {
    name: 'fixed-candidates',
    score(turn: Turn) {
      const fixed: Record<string, string[]> = {
        'are you green?': ['Ivy is very green.', 'As an AI language model, I have no colour.', 'I am very green.'],
        "what's your name?": ['My name is George.', 'My name is Ivy, nice to meet you.', 'I like the sun.'],
        'what is your name?': ['My name is George.', 'My name is George.'],
        hi: ["Hi, I'm user1.", 'Nice to meet you, (user 2\'s name)!', 'Hello! I love the sun.'],
      };
      const texts = fixed[turn.message.text];
      if (!texts) return;
      turn.candidates = texts.map((text) => ({ text, tokens: [], logprob: -5, avgLogprob: -1, scores: { avgLogprob: -1, logprob: -5 } }));
    },
  };

  beforeAll(async () => {
    presetsDir = await mkdtemp(join(tmpdir(), 'banter-persona-'));
    await writeFile(
      join(presetsDir, 'ivy.yaml'),
      `persona: ${JSON.stringify(PERSONA)}\ngreeting:\n  - {role: bot, text: "${GREETING}"}\nplugins:\n  persona: {role: true}\nselection:\n  weights: {persona.consistency: 2}\n`,
    );
    bot = await makeTestBot(
      {
        decoding: { numCandidates: 2, seed: 3, maxNewTokens: 4 } as never,
        presets: { dirs: [presetsDir], default: 'default', routes: { test: 'ivy' } } as never,
      },
      // Options plugins run in this order, after config ones: the fixed candidates are in place before persona scores them.
      { plugins: [fixedCandidates, createPersonaPlugin()] },
    );
  });
  afterAll(async () => {
    await bot?.stop();
    await rm(presetsDir, { recursive: true, force: true });
  });

  async function turnOf(channel: string, text: string): Promise<Turn> {
    let seen: Turn | undefined;
    const off = bot.events.on('turn:end', ({ turn }) => (seen = turn));
    await bot.handle({ platform: 'test', channel, text, user: { id: 'u1' } });
    off();
    return seen!;
  }

  const rendered = (template: string, text: string) => bot.engine.tokenizer.encodeMarkup(template.replace('{text}', text));

  it("puts the preset's persona lines into the encoded prompt in the model's format", async () => {
    const turn = await turnOf('a', 'hello');
    expect(turn.prompt.persona).toEqual(PERSONA);
    const template = bot.engine.format!.persona!;
    expect(template).toContain('{text}');
    const personaTokens = PERSONA.flatMap((line) => rendered(template, line));
    expect(turn.promptTokens.slice(0, personaTokens.length)).toEqual(personaTokens);
  });

  it('pre-conditions the first reply with the greeting turns, before the first message', async () => {
    const turn = await turnOf('b', 'hello');
    expect(turn.prompt.history.map((h) => [h.role, h.text])).toEqual([
      ['bot', GREETING],
      ['user', 'hello'],
    ]);
    const exchange = [...rendered(bot.engine.format!.bot, GREETING), ...rendered(bot.engine.format!.user, 'hello')];
    expect(containsRun(turn.promptTokens, exchange)).toBe(true);
  });

  it('uses a persona set on the conversation instead of the preset one', async () => {
    const conversation = await bot.conversation({ platform: 'test', channel: 'c' });
    conversation.persona = ['I am Nemo.'];
    await bot.saveConversation(conversation);
    const turn = await turnOf('c', 'who are you?');
    expect(turn.prompt.persona).toEqual(['I am Nemo.']);
    expect(containsRun(turn.promptTokens, rendered(bot.engine.format!.persona!, 'I am Nemo.'))).toBe(true);
    expect(containsRun(turn.promptTokens, rendered(bot.engine.format!.persona!, 'I am Ivy.'))).toBe(false);
  });

  it('scores persona.consistency so that selection picks the in-character candidate', async () => {
    const turn = await turnOf('d', 'are you green?');
    expect(turn.candidates.map((c) => c.scores[CONSISTENCY_SCORE])).toEqual([0.5, 0, 1]);
    expect(turn.reply!.text).toBe('I am very green.');
  });

  it('rejects a candidate that gives the bot another name, and scores the one that agrees', async () => {
    const turn = await turnOf('e', "what's your name?");
    expect(turn.candidates.map((c) => c.rejected?.by)).toEqual(['persona', undefined, undefined]);
    expect(turn.candidates.map((c) => c.scores[FACTS_SCORE])).toEqual([0, 1, 0]);
  });

  it("answers from the persona line when every candidate contradicts the fact asked about", async () => {
    const turn = await turnOf('g', 'what is your name?');
    expect(turn.candidates.slice(0, 2).map((c) => c.rejected?.reason)).toEqual(["contradicts the persona's name", "contradicts the persona's name"]);
    expect(turn.reply).toMatchObject({ kind: 'model', text: 'My name is Ivy.' });
  });

  it('rejects candidates with a template placeholder from training data', async () => {
    const turn = await turnOf('f', 'hi');
    expect(turn.candidates.map((c) => c.rejected?.reason)).toEqual(['template placeholder "user1"', 'template placeholder "(user 2\'s name)"', undefined]);
    expect(turn.reply!.text).toBe('Hello! I love the sun.');
  });
});
