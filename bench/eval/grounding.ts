/**
 * Grounding evaluation (LaMDA's groundedness and citation accuracy, plus role consistency) over a
 * question set for the role presets. Each question is asked in a fresh conversation through the
 * real bot (persona + grounding enabled), on whatever model the config names or `--model` gives.
 *
 *   groundedness       answers containing the expected fact (its regular expression)
 *   citationAccuracy   citations pointing to a passage (title + URL) that contains the fact
 *   roleConsistency    answers with no role violation (persona plugin's checks)
 *
 * Prints one JSON object: figures overall and per preset, LaMDA's reference figures, and the first
 * `--transcripts` exchanges per preset in question-file order (unpicked).
 *
 * Usage: npm run eval -- grounding [--config FILE] [--model DIR] [--device cpu|cuda]
 *        [--questions FILE] [--limit N] [--transcripts N] [--seed N]
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createBot } from '../../core/bot.js';
import { loadConfig } from '../../core/config/load.js';
import { packageRoot } from '../../core/config/package-root.js';
import type { Citation, Preset, Reply, Turn } from '../../core/types.js';
import { checkConsistency } from '../../plugins/persona/consistency.js';
import { PersonaPlugin } from '../../plugins/persona/index.js';
import { type Passage, listSourceFiles, readPassages } from '../../plugins/grounding/sources.js';
import { DEFAULT_CONFIG } from '../../plugins/grounding/config.js';

// The question files are data, not compiled: read them from the sources whether run from dist/ or not.
const DEFAULT_QUESTIONS = resolve(packageRoot(), 'bench/eval/data/grounding-questions.json');
/** LaMDA's reported figures for its grounded model (Thoppilan et al., 2022). */
const LAMDA = { groundedness: 0.73, citationAccuracy: 0.65 };

interface Question {
  preset: string;
  question: string;
  /** Case-insensitive regular expression for the expected fact. */
  expect: string;
  source: string;
}

interface Outcome {
  question: Question;
  reply: Reply;
  grounded: boolean;
  citations: { citation: Citation; correct: boolean }[];
  violations: string[];
  /** Whether a passage was retrieved as evidence at all. */
  retrieved: boolean;
}

interface Figures {
  questions: number;
  groundedness: number;
  citationAccuracy: number | null;
  citations: number;
  answersWithCitation: number;
  roleConsistency: number;
  retrievalRate: number;
  evidenceReplies: number;
}

export async function evalGrounding(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      model: { type: 'string' },
      device: { type: 'string' },
      questions: { type: 'string' },
      limit: { type: 'string' },
      transcripts: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
    },
    allowPositionals: false,
  });
  const questions = await readQuestions(values.questions ? resolve(values.questions) : DEFAULT_QUESTIONS, values.limit ? Number(values.limit) : undefined);

  const loaded = await loadConfig(values.config);
  const config = loaded.config;
  if (values.model) config.engine.model = resolve(values.model);
  if (values.device === 'cpu' || values.device === 'cuda') config.engine.device = values.device;
  config.decoding = { ...config.decoding, seed: Number(values.seed) };
  config.history = { ...config.history, store: 'memory://' };
  config.adapters = {};
  config.log = { level: 'warn' };
  // The eval measures these two plugins: make sure they run, with the config's settings if any.
  config.plugins = { ...config.plugins, persona: config.plugins.persona || {}, grounding: config.plugins.grounding || {} };
  const presetNames = [...new Set(questions.map((q) => q.preset))];
  config.presets = { ...config.presets, routes: { ...config.presets.routes, ...Object.fromEntries(presetNames.map((name) => [`eval:${name}`, name])) } };

  const bot = await createBot(loaded);
  try {
    const persona = new PersonaPlugin();
    persona.setup(bot, (config.plugins.persona || {}) as never);
    const passages = new Map<string, Passage[]>();
    for (const name of presetNames) {
      const preset = bot.presets.get(name);
      if (!preset) throw new Error(`Question set names preset "${name}", which this config does not have (${bot.presets.list().map((p) => p.name).join(', ')})`);
      passages.set(name, await knowledgeOf(preset));
    }

    const outcomes: Outcome[] = [];
    for (const [index, question] of questions.entries()) {
      let turn: Turn | undefined;
      const off = bot.events.on('turn:end', (event) => (turn = event.turn));
      const reply = await bot.handle({ platform: 'eval', channel: question.preset, thread: String(index), text: question.question, user: { id: 'eval' } });
      off();
      const preset = bot.presets.get(question.preset)!;
      const fact = new RegExp(question.expect, 'i');
      const known = passages.get(question.preset)!;
      const profile = persona.profileFor({ preset, conversation: { key: '', preset: preset.name, history: [], state: {} } });
      outcomes.push({
        question,
        reply,
        grounded: fact.test(reply.text),
        citations: reply.citations.map((citation) => ({
          citation,
          correct: known.some((passage) => passage.title === citation.title && passage.url === citation.url && fact.test(passage.text)),
        })),
        violations: checkConsistency(reply.text, profile).map((violation) => `${violation.kind}: ${violation.detail}`),
        retrieved: (turn?.evidence.length ?? 0) > 0,
      });
    }

    const perPreset = Object.fromEntries(presetNames.map((name) => [name, figures(outcomes.filter((o) => o.question.preset === name))]));
    const limit = Number(values.transcripts);
    const transcripts = Object.fromEntries(
      presetNames.map((name) => [
        name,
        outcomes
          .filter((o) => o.question.preset === name)
          .slice(0, limit)
          .map((o) => ({
            greeting: bot.presets.get(name)!.greeting.map((turn) => `${turn.role}: ${turn.text}`),
            user: o.question.question,
            bot: o.reply.text,
            kind: o.reply.kind,
            citations: o.citations.map(({ citation, correct }) => ({ ...citation, correct })),
            expected: o.question.expect,
            grounded: o.grounded,
            violations: o.violations,
          })),
      ]),
    );
    return {
      eval: 'grounding',
      model: bot.engine.info.name,
      modelPath: bot.engine.info.path,
      questions: outcomes.length,
      overall: figures(outcomes),
      perPreset,
      reference: { lamda: LAMDA, aim: 0.85 },
      transcripts,
    };
  } finally {
    await bot.stop();
  }
}

function figures(outcomes: Outcome[]): Figures {
  const share = (count: number, total: number) => (total === 0 ? 0 : round(count / total));
  const citations = outcomes.flatMap((o) => o.citations);
  return {
    questions: outcomes.length,
    groundedness: share(outcomes.filter((o) => o.grounded).length, outcomes.length),
    citationAccuracy: citations.length === 0 ? null : share(citations.filter((c) => c.correct).length, citations.length),
    citations: citations.length,
    answersWithCitation: share(outcomes.filter((o) => o.citations.length > 0).length, outcomes.length),
    roleConsistency: share(outcomes.filter((o) => o.violations.length === 0).length, outcomes.length),
    retrievalRate: share(outcomes.filter((o) => o.retrieved).length, outcomes.length),
    evidenceReplies: share(outcomes.filter((o) => o.reply.kind === 'evidence').length, outcomes.length),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

async function readQuestions(file: string, limit?: number): Promise<Question[]> {
  const data = JSON.parse(await readFile(file, 'utf8')) as { questions?: unknown };
  if (!Array.isArray(data.questions)) throw new Error(`${file}: expected { "questions": [...] }`);
  const questions = data.questions.map((value, index) => {
    const q = value as Partial<Question>;
    for (const field of ['preset', 'question', 'expect', 'source'] as const) {
      if (typeof q[field] !== 'string' || !q[field]) throw new Error(`${file}: questions[${index}].${field} must be a non-empty string`);
    }
    try {
      new RegExp(q.expect!, 'i');
    } catch (error) {
      throw new Error(`${file}: questions[${index}].expect is not a valid regular expression: ${(error as Error).message}`);
    }
    return q as Question;
  });
  return limit === undefined ? questions : questions.slice(0, limit);
}

/** Every passage of a preset's knowledge, chunked as the grounding plugin does by default. */
async function knowledgeOf(preset: Preset): Promise<Passage[]> {
  const files = await listSourceFiles(preset.knowledge);
  return (await Promise.all(files.map((file) => readPassages(file.path, DEFAULT_CONFIG.maxPassageChars)))).flat();
}
