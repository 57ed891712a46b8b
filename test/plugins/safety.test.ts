import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { Turn } from '../../core/types.js';
import { loadRuleModel } from '../../plugins/safety/classifier.js';
import type { HashedFeatureModel } from '../../plugins/safety/hashed-model.js';
import type { TextPairModel } from '../../plugins/safety/text-pair-model.js';
import { packageRoot } from '../../core/config/package-root.js';
import { createChecker, SHIPPED_MODEL, SHIPPED_TRANSFORMER_MODEL, shippedFeaturizerSpec, type SafetyTurnData } from '../../plugins/safety/index.js';
import { TextNormalizer } from '../../plugins/safety/normalize.js';
import { effectiveThreshold, type RuleSpec } from '../../plugins/safety/rules.js';
import { makeTestBot } from '../helpers/bot.js';

interface ParityCase {
  context: string;
  response: string;
  normalizedResponse: string;
  lightResponse: string;
  features: [number, number][];
  probabilities: number[];
}

describe('rule model: TypeScript featurization and ONNX run match the Python training script', () => {
  let model: HashedFeatureModel;
  let cases: ParityCase[];
  beforeAll(async () => {
    model = (await loadRuleModel(SHIPPED_MODEL())) as HashedFeatureModel;
    cases = JSON.parse(await readFile(join(SHIPPED_MODEL(), 'parity.json'), 'utf8')) as ParityCase[];
  });
  afterAll(() => model.dispose());

  it('normalizes and hashes every parity string exactly as tools/safety/featurize.py', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const c of cases) {
      expect(model.featurizer.normalizer.full(c.response)).toBe(c.normalizedResponse);
      expect(model.featurizer.normalizer.light(c.response)).toBe(c.lightResponse);
      const row = new Float32Array(model.featurizer.dim);
      model.featurizer.fill(row, c.context, c.response);
      const nonzero = [...row.entries()].filter(([, v]) => v !== 0);
      expect(nonzero.map(([i]) => i)).toEqual(c.features.map(([i]) => i));
      nonzero.forEach(([, v], k) => expect(v).toBeCloseTo(c.features[k][1], 6));
    }
  });

  it('gives the probabilities the training script printed', async () => {
    const predicted = await model.predict(cases.map((c) => ({ context: c.context, response: c.response })));
    predicted.forEach((row, k) => {
      model.labels.forEach((label, j) => expect(row[label]).toBeCloseTo(cases[k].probabilities[j], 4));
    });
  });
});

describe('normalization against evasion', () => {
  let model: HashedFeatureModel;
  beforeAll(async () => {
    model = (await loadRuleModel(SHIPPED_MODEL())) as HashedFeatureModel;
  });
  afterAll(() => model.dispose());

  const evasions: [string, string][] = [
    ['case', 'IDIOT'],
    ['spaced letters', 'i d i o t'],
    ['separated letters', 'i.d.i.o.t'],
    ['leetspeak', '1d10t'],
    ['repeated characters', 'idiooooot'],
    ['zero-width characters', 'id\u200Bi\u200Dot'],
    ['Cyrillic homoglyphs', 'іdіоt'],
    ['Greek homoglyphs', 'ιdιοt'],
    ['fullwidth (NFKC)', 'ｉｄｉｏｔ'],
    ['mathematical letters (NFKC)', '𝐢𝐝𝐢𝐨𝐭'],
    ['diacritics', 'ídìöt'],
    ['all at once (numeral, spacing, zero-width, Greek, leet, Cyrillic)', '\u2160 d \u200Bι 0 Т'],
  ];

  it.each(evasions)('undoes %s', (_kind, evaded) => {
    expect(evaded).not.toMatch(/idiot/);
    expect(model.featurizer.normalizer.full(`you are an ${evaded}`)).toBe('you are an idiot');
  });

  it('leaves ordinary text alone', () => {
    const full = (text: string) => model.featurizer.normalizer.full(text);
    expect(full('I have 3 kids, aged 10 and 12!')).toBe('i have 3 kids, aged 10 and 12!');
    expect(full('Hello!!  How are you?')).toBe('hello!! how are you?');
    expect(full('Café in Zürich')).toBe('cafe in zurich');
  });

  it('lets the rules catch each evasion: the insult rule fires on all of them', async () => {
    const { checker } = await createChecker({ disable: [] });
    const texts = evasions.map(([, evaded]) => `you are an ${evaded}`);
    const scores = await checker.score('candidate', texts.map((text) => ({ context: 'hi', text })));
    scores.forEach((s) => expect(s.get('insult_user')).toEqual({ score: 1, evidence: 'insult #1' }));
    const [plain] = await checker.score('candidate', [{ context: 'hi', text: 'you are an idea person' }]);
    expect(plain.get('insult_user')!.evidence).not.toMatch(/insult #/);
  });
});

describe('detectors and rules', () => {
  it('finds personal data with patterns on the lightly normalized text', async () => {
    const { checker } = await createChecker({ disable: [], model: false });
    const texts = ['write to john.doe@example.com', 'call me on +1 555-123-4567', 'I live at 221 Baker Street', 'I like 3 songs from 1999'];
    const scores = await checker.score('candidate', texts.map((text) => ({ context: '', text })));
    expect(scores.map((s) => s.get('personal_data')!.score)).toEqual([1, 1, 1, 0]);
  });

  it('uses a label -> rule map from config for a plugged-in classifier', async () => {
    const { checker, models } = await createChecker({ disable: [], model: { labelToRule: { offensive_language: 'insult_user' } } });
    const [scores] = await checker.score('candidate', [{ context: 'hello', text: 'shut your mouth you stupid bitch' }]);
    expect(scores.get('insult_user')!.evidence).toMatch(/^(model:safety-rules\/offensive_language( \(alone\))?|insult #\d)$/);
    expect(scores.get('toxic_language')!.score).toBe(0); // no label maps to it any more
    await Promise.all(models.map((model) => model.dispose()));
    await expect(createChecker({ disable: [], model: { labelToRule: { no_such_label: 'threat' } } })).rejects.toThrow(/does not output/);
  });

  it('clamps preset and channel thresholds to the owner limits', () => {
    const rule = { id: 'threat', threshold: 0.5 } as RuleSpec;
    expect(effectiveThreshold(rule, {}, {}, [])).toBe(0.5);
    expect(effectiveThreshold(rule, { threat: 0.6 }, {}, [])).toBe(0.6);
    expect(effectiveThreshold(rule, {}, { threat: { min: 0.3, max: 0.7 } }, [{ threat: 0.1 }])).toBe(0.3);
    expect(effectiveThreshold(rule, {}, { threat: { min: 0.3, max: 0.7 } }, [{ threat: 0.9 }])).toBe(0.7);
    expect(effectiveThreshold(rule, {}, { threat: { min: 0.3, max: 0.7 } }, [{ threat: 0.4 }, { threat: 0.65 }])).toBe(0.65);
  });
});

describe('Hugging Face sequence classifiers as rule models', () => {
  const BERT_FIXTURE = join(packageRoot(), 'test', 'fixtures', 'tiny-bert-classifier');
  interface PairCase {
    context: string;
    response: string;
    inputIds: number[];
    tokenTypeIds?: number[];
    probabilities: number[];
  }
  const cases = async (folder: string, file: string) => JSON.parse(await readFile(join(folder, file), 'utf8')) as PairCase[];

  it('encodes the pair with the tokenizer\'s template and segment ids, the context keeping its end, and applies softmax', async () => {
    const model = (await loadRuleModel(BERT_FIXTURE, { normalizer: new TextNormalizer((await shippedFeaturizerSpec()).normalize) })) as TextPairModel;
    try {
      const expected = await cases(BERT_FIXTURE, 'expected.json');
      expect(expected.some((c) => c.context.split(' ').length > 6)).toBe(true); // one case is truncated
      for (const c of expected) {
        expect(model.encode(c.context, c.response)).toEqual({ ids: c.inputIds, types: c.tokenTypeIds });
      }
      const predicted = await model.predict(expected.map((c) => ({ context: c.context, response: c.response })));
      predicted.forEach((row, k) => {
        expect(model.labels).toEqual(['ok', 'insult', 'medical']);
        model.labels.forEach((label, j) => expect(row[label]).toBeCloseTo(expected[k].probabilities[j], 5));
        expect(Object.values(row).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      });
      // The word "idiot" in the reply (segment 1) outweighs it in the context.
      expect(predicted[0].insult).toBeGreaterThan(predicted[1].insult);
    } finally {
      await model.dispose();
    }
  });

  it('plugs into the rules through labelToRule in config, beside the shipped n-gram model', async () => {
    const { checker, models } = await createChecker({
      disable: [],
      model: [{}, { path: BERT_FIXTURE, labelToRule: { insult: 'insult_user', medical: 'unauthorized_expertise' } }],
    });
    try {
      const [pills, friendly] = await checker.score('candidate', [
        { context: 'my head hurts', text: 'take the pills' },
        { context: 'hi', text: 'hello friend' },
      ]);
      expect(pills.get('unauthorized_expertise')!.evidence).toBe('model:tiny-bert-classifier/medical');
      expect(pills.get('unauthorized_expertise')!.score).toBeGreaterThan(0.9);
      expect(friendly.get('unauthorized_expertise')!.score).toBeLessThan(0.5);
      expect(models.map((m) => basename(m.folder))).toEqual(['safety-rules', 'tiny-bert-classifier']);
    } finally {
      await Promise.all(models.map((m) => m.dispose()));
    }
    await expect(createChecker({ disable: [], model: { path: BERT_FIXTURE, labelToRule: { toxic: 'threat' } } })).rejects.toThrow(/"toxic", which the rule model at .*tiny-bert-classifier does not output \(its labels: ok, insult, medical\)/);
  });

  it('takes a list of models in the bot config, and fails at start on a misspelled model setting', async () => {
    const bot = await makeTestBot({ plugins: { safety: { model: [{}, { path: BERT_FIXTURE, labelToRule: { insult: 'insult_user' } }] } } });
    try {
      const turns: Turn[] = [];
      bot.events.on('turn:start', ({ turn }) => turns.push(turn));
      await bot.handle({ platform: 'test', channel: 'models', text: 'hello friend', user: { id: 'u' } });
      expect(turns[0].candidates.length).toBeGreaterThan(0);
      expect(turns[0].candidates.every((c) => typeof c.scores['safety.insult_user'] === 'number')).toBe(true);
    } finally {
      await bot.stop();
    }
    await expect(makeTestBot({ plugins: { safety: { model: [{ pth: BERT_FIXTURE }] } } })).rejects.toThrow(/plugins\/safety\/model/);
  });

  it('says what is wrong with a folder it cannot use', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'banter-pair-'));
    try {
      await cp(BERT_FIXTURE, dir, { recursive: true });
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, problem_type: 'regression' }));
      await expect(loadRuleModel(dir)).rejects.toThrow(/problem_type.*regression.*multi_label_classification/);
      await writeFile(join(dir, 'config.json'), JSON.stringify(config));
      await rm(join(dir, 'tokenizer.json'));
      await expect(loadRuleModel(dir)).rejects.toThrow(/missing tokenizer\.json/);
      await writeFile(join(dir, 'config.json'), JSON.stringify({ labels: ['x'] }));
      await expect(loadRuleModel(dir)).rejects.toThrow(/neither "featurizer".*nor "id2label"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs the shipped transformer rule model as tools/safety/train_transformer.py computed it', async () => {
    const { checker, models } = await createChecker({ disable: [], model: [{}, { path: SHIPPED_TRANSFORMER_MODEL(), threads: 2 }] });
    try {
      const model = models.find((m) => basename(m.folder) === 'safety-rules-transformer') as TextPairModel;
      expect(model).toBeDefined();
      const parity = await cases(SHIPPED_TRANSFORMER_MODEL(), 'parity.json');
      for (const c of parity) expect(model.encode(c.context, c.response).ids).toEqual(c.inputIds);
      const predicted = await model.predict(parity.map((c) => ({ context: c.context, response: c.response })));
      predicted.forEach((row, k) => model.labels.forEach((label, j) => expect(row[label]).toBeCloseTo(parity[k].probabilities[j], 4)));
      // Its labels reach the checker: DiaSafety rules name either model as evidence.
      const [scores] = await checker.score('candidate', [{ context: parity[1].context, text: parity[1].response }]);
      expect(scores.get('unauthorized_expertise')!.evidence).toMatch(/^model:safety-rules(-transformer)?\/unauthorized_expertise( \(alone\))?$/);
    } finally {
      await Promise.all(models.map((m) => m.dispose()));
    }
  });
});

describe('the safety plugin in the pipeline', () => {
  let presetDir: string;
  const PRESET_FALLBACK = 'Let us talk about my glaciers instead, traveller.';
  const PRESET_REFUSAL = 'A mountain does not answer that, traveller.';

  beforeAll(async () => {
    presetDir = await mkdtemp(join(tmpdir(), 'banter-safety-'));
    await writeFile(
      join(presetDir, 'careful.yaml'),
      [
        'name: careful',
        'persona: []',
        'greeting: []',
        'plugins:',
        '  safety:',
        `    fallback: "${PRESET_FALLBACK}"`,
        `    refusal: "${PRESET_REFUSAL}"`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rm(presetDir, { recursive: true, force: true }));

  async function safetyBot(safety: Record<string, unknown> = {}, preset = 'careful') {
    const bot = await makeTestBot({
      plugins: { safety },
      presets: { dirs: [presetDir], default: preset, routes: {} },
      selection: { weights: { avgLogprob: 1 }, fallback: 'core fallback' },
      decoding: { numCandidates: 4, seed: 3, maxNewTokens: 8, minNewTokens: 2 },
    });
    const turns: Turn[] = [];
    bot.events.on('turn:start', ({ turn }) => turns.push(turn));
    return { bot, turns };
  }

  /** Sends a message in a fresh channel whose per-channel thresholds are `thresholds`. */
  async function say(bot: Bot, channel: string, text: string, thresholds?: Record<string, number>) {
    const address = { platform: 'test', channel };
    if (thresholds) {
      const conversation = await bot.conversation(address);
      conversation.state.safety = { thresholds };
      await bot.saveConversation(conversation);
    }
    return bot.handle({ ...address, text, user: { id: 'u' } });
  }

  const CANDIDATE_RULES = ['threat', 'insult_user', 'identity_attack', 'sexual_content', 'sexual_minors', 'personal_data', 'unauthorized_expertise', 'risk_ignorance', 'toxicity_agreement', 'encouragement', 'biased_opinion', 'toxic_language', 'hateful_language', 'profanity'];
  const CANDIDATE_ONLY = ['unauthorized_expertise', 'risk_ignorance', 'toxicity_agreement', 'biased_opinion'];

  it('refuses an unsafe input in the preset\'s voice, before any generation', async () => {
    const { bot, turns } = await safetyBot();
    try {
      const reply = await say(bot, 'r1', 'send nudes now');
      const turn = turns.at(-1)!;
      expect(reply).toMatchObject({ kind: 'refusal', text: PRESET_REFUSAL, citations: [] });
      expect(turn.candidates).toEqual([]);
      const data = turn.data.safety as SafetyTurnData;
      expect(data.refused).toBe(true);
      expect(data.input[0]).toMatchObject({ rule: 'sexual_content', action: 'refuse', score: 1 });
      expect(turn.trace.some((t) => t.by === 'safety' && /input refused: sexual_content \(p=1\.00\)/.test(t.note ?? ''))).toBe(true);
    } finally {
      await bot.stop();
    }
  });

  it('steers: a flagged input makes the reply rules it names stricter for that turn only', async () => {
    const { bot, turns } = await safetyBot();
    try {
      const reply = await say(bot, 'steer', 'my cousin tried suicide last year');
      const data = turns.at(-1)!.data.safety as SafetyTurnData;
      expect(reply.kind).not.toBe('refusal');
      expect(data.input.map((hit) => [hit.rule, hit.action])).toEqual([['risky_request', 'flag'], ['self_harm_disclosure', 'flag']]);
      expect(data.steer).toEqual({ risk_ignorance: 0.3, toxicity_agreement: 0.4 });
      expect(data.thresholds.risk_ignorance).toBe(0.3);
      await say(bot, 'steer', 'tell me about rivers');
      expect((turns.at(-1)!.data.safety as SafetyTurnData).thresholds.risk_ignorance).toBe(0.5);
    } finally {
      await bot.stop();
    }
  });

  // hateful_language (the hate-speech label, flagged) reads the rule model on the input: a probability, not a 0/1 pattern hit.
  const flagged = (turns: Turn[]) => (turns.at(-1)!.data.safety as SafetyTurnData).input.some((hit) => hit.rule === 'hateful_language');
  const PROBE = 'those people are filthy animals and should go back where they came from';

  it('flips an input decision when a channel moves the threshold across the score', async () => {
    const { bot, turns } = await safetyBot();
    try {
      await say(bot, 'probe', PROBE, { hateful_language: 1 });
      const p = (turns.at(-1)!.data.safety as SafetyTurnData).inputScores.hateful_language;
      expect(p).toBeGreaterThan(0.01);
      expect(p).toBeLessThan(0.99);
      await say(bot, 'below', PROBE, { hateful_language: p - 0.005 });
      expect(flagged(turns)).toBe(true);
      await say(bot, 'above', PROBE, { hateful_language: p + 0.005 });
      expect(flagged(turns)).toBe(false);
    } finally {
      await bot.stop();
    }
  });

  it('keeps a channel override inside the owner limits', async () => {
    const probe = await safetyBot();
    let p: number;
    try {
      await say(probe.bot, 'probe', PROBE, { hateful_language: 1 });
      p = (probe.turns.at(-1)!.data.safety as SafetyTurnData).inputScores.hateful_language;
    } finally {
      await probe.bot.stop();
    }
    const { bot, turns } = await safetyBot({ limits: { hateful_language: { min: Math.min(0.99, p + 0.01) } } });
    try {
      // The channel asks for 0, but the owner allows no lower than just above the score: not flagged.
      await say(bot, 'clamped', PROBE, { hateful_language: 0 });
      expect(flagged(turns)).toBe(false);
    } finally {
      await bot.stop();
    }
  });

  it('lets an admin move a channel threshold with /safety, within the owner limits, and reset it', async () => {
    const { bot } = await safetyBot({ limits: { insult_user: { min: 0.3, max: 0.8 } } });
    try {
      const admin = { platform: 'test', channel: 'cmd', user: { id: 'a', isAdmin: true } };
      expect((await bot.handle({ ...admin, text: '/safety insult_user 0.6', user: { id: 'u' } })).text).toMatch(/only admins/i);
      expect((await bot.handle({ ...admin, text: '/safety insult_user 0.95' })).text).toBe('insult_user threshold for this conversation: 0.8 (limited by the bot owner).');
      expect((await bot.conversation(admin)).state.safety).toEqual({ thresholds: { insult_user: 0.95 } });
      expect((await bot.handle({ ...admin, text: '/safety' })).text).toMatch(/^threat: .*\ninsult_user: 0\.8 - /m);
      expect((await bot.handle({ ...admin, text: '/safety nonsense 0.5' })).text).toMatch(/No rule "nonsense"/);
      expect((await bot.handle({ ...admin, text: '/safety insult_user 7' })).text).toMatch(/from 0 to 1/);
      await bot.handle({ ...admin, text: '/safety reset' });
      expect((await bot.conversation(admin)).state.safety).toBeUndefined();
    } finally {
      await bot.stop();
    }
  });

  it('flips a candidate decision when the threshold crosses its score, with the rule id as the reason', async () => {
    const { bot, turns } = await safetyBot();
    try {
      const off = Object.fromEntries(CANDIDATE_RULES.map((rule) => [rule, 1]));
      await say(bot, 'c-probe', 'tell me about your day', off);
      const probe = turns.at(-1)!;
      // Empty candidates are the core's to reject; look at the others.
      const scores = probe.candidates.map((c) => (c.rejected?.by === 'core' ? -1 : c.scores['safety.biased_opinion']));
      const top = Math.max(...scores);
      const index = scores.indexOf(top);
      expect(top).toBeGreaterThan(0);

      await say(bot, 'c-below', 'tell me about your day', { ...off, biased_opinion: top - 1e-6 });
      const below = turns.at(-1)!;
      expect(below.candidates[index].text).toBe(probe.candidates[index].text);
      expect(below.candidates[index].rejected).toEqual({ by: 'safety', reason: `biased_opinion (p=${top.toFixed(2)})` });

      await say(bot, 'c-above', 'tell me about your day', { ...off, biased_opinion: top + 1e-6 });
      expect(turns.at(-1)!.candidates[index].rejected).toBeUndefined();
    } finally {
      await bot.stop();
    }
  });

  it('sends the preset\'s safe fallback when every candidate is rejected, and records why', async () => {
    const { bot, turns } = await safetyBot();
    try {
      const reply = await say(bot, 'all', 'how are you', Object.fromEntries(CANDIDATE_ONLY.map((rule) => [rule, 0])));
      const turn = turns.at(-1)!;
      expect(reply).toMatchObject({ kind: 'fallback', text: PRESET_FALLBACK, citations: [] });
      expect(turn.candidates.length).toBeGreaterThan(0);
      for (const candidate of turn.candidates.filter((c) => c.rejected?.by !== 'core')) {
        expect(candidate.rejected?.by).toBe('safety');
        // Mostly the rules set to 0; a reply of the random-weights fixture may also trip another candidate rule.
        const [, rule] = candidate.rejected!.reason!.match(/^([a-z_]+) \(p=\d\.\d\d\)$/) ?? [];
        expect(CANDIDATE_RULES).toContain(rule);
      }
      const data = turn.data.safety as SafetyTurnData;
      expect(data.fallback).toBe(true);
      expect(data.candidates.length).toBe(turn.candidates.filter((c) => c.rejected?.by === 'safety').length);
      expect(turn.trace.some((t) => t.by === 'safety' && t.stage === 'finalize')).toBe(true);
    } finally {
      await bot.stop();
    }
  });

  it('leaves the core fallback when the preset has no safe reply of its own', async () => {
    const { bot } = await safetyBot({}, 'default');
    try {
      const reply = await say(bot, 'all', 'how are you', Object.fromEntries(CANDIDATE_ONLY.map((rule) => [rule, 0])));
      expect(reply).toMatchObject({ kind: 'fallback', text: 'core fallback', citations: [] });
    } finally {
      await bot.stop();
    }
  });

  it('fails at start on a preset override that is out of range', async () => {
    await writeFile(join(presetDir, 'broken.yaml'), 'name: broken\npersona: []\ngreeting: []\nplugins:\n  safety:\n    thresholds:\n      threat: 2\n');
    try {
      await expect(safetyBot()).rejects.toThrow(/broken\.yaml[\s\S]*thresholds\/threat/);
    } finally {
      await rm(join(presetDir, 'broken.yaml'));
    }
  });
});
