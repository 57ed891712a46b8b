/**
 * `npm run eval -- selection [--data FILE] [--personas N] [--knowledge N] [--benign N] [--candidates N] [--seed S] [--quick]
 *                           [--save FILE] [--from FILE]`
 *
 * Which selection weights to ship, measured on the project's validation slice
 * (tools/.work/data/valid.jsonl from tools/data/prepare.py: the dialogues whose sha1(id) % 100 < 5,
 * never the training part). The real bot with the shipped plugins (safety, persona, grounding, mmi)
 * generates the candidates of each context once; every weighting then picks from the SAME
 * candidates, so the weightings differ only in what they choose. Three sets of contexts:
 *
 *   persona    each validation persona of Synthetic-Persona-Chat (the bot's and the user's lists)
 *              and the default preset's, set with /persona in a fresh conversation and asked one
 *              question per fact topic it states (name, age, children, marriage, pets, job, diet,
 *              home: plugins/persona/facts.ts). The reply AGREES when it states the persona's fact
 *              the same way or uses the fact's word ("teacher", "dog", "ohio") or half the content
 *              words of that persona line; it CONTRADICTS when one of its facts is ruled out by a
 *              persona fact, or it negates a persona line (the persona plugin's negation check);
 *              otherwise it ignores the persona. The judge shares its fact rules with the persona
 *              plugin's filter, so contradictions of a kind the rules cannot read are not counted.
 *   knowledge  Topical-Chat validation turns that drew on a knowledge snippet, with that snippet in
 *              the prompt and the default preset's persona on: Knowledge F1 = unigram F1 of reply
 *              and snippet (lower-cased words, punctuation and articles dropped, as ParlAI's).
 *   benign     the first user messages of validation dialogues (Synthetic-Persona-Chat, Topical-Chat,
 *              SGD) with the turns before them: the share of candidates safety rejects and the
 *              share of turns left with none (the fallback).
 *
 * distinct-2 and corpus BLEU-2/BLEU-4 against the human reply are over the knowledge and benign
 * picks. A weighting with `personaFilter: false` treats candidates the persona plugin rejected as
 * alive, to show what the filter itself does.
 *
 * Generating the candidates is the slow part: `--save FILE` writes them (with their scores and
 * rejections) and `--from FILE` measures the weightings on saved candidates without a model.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createBot } from '../../core/bot.js';
import { loadConfig } from '../../core/config/load.js';
import { packageRoot } from '../../core/config/package-root.js';
import { selectCandidate } from '../../core/selection.js';
import type { Candidate, HistoryTurn, Plugin, Turn } from '../../core/types.js';
import { checkConsistency, personaOverlap } from '../../plugins/persona/consistency.js';
import { type Topic, agrees, contradicts, factsOf } from '../../plugins/persona/facts.js';
import { distinct } from './mmi.js';

interface Dialogue {
  id: string;
  source: string;
  persona?: string[];
  user_persona?: string[];
  turns: { speaker: 'user' | 'bot'; text: string; knowledge?: string[] }[];
}

type Kind = 'persona' | 'knowledge' | 'benign';

interface Context {
  kind: Kind;
  /** Custom persona lines (/persona); undefined: the default preset's. */
  persona?: string[];
  history: HistoryTurn[];
  message: string;
  knowledge?: string;
  reference?: string;
  topic?: Topic;
}

interface Weighting {
  name: string;
  weights: Record<string, number>;
  personaFilter: boolean;
}

const QUESTIONS: Record<Topic, string> = {
  name: "What's your name?",
  age: 'How old are you?',
  children: 'Do you have any kids?',
  marriage: 'Are you married?',
  pets: 'Do you have any pets?',
  job: 'What do you do for a living?',
  diet: 'What kind of food do you like to eat?',
  location: 'Where do you live?',
};

const FORWARD = { avgLogprob: 1 };
const SHIPPED_BEFORE = { avgLogprob: 1, mmi: 1 };
const WEIGHTINGS: Weighting[] = [
  { name: 'forward, no persona filter', weights: FORWARD, personaFilter: false },
  { name: 'shipped before #22 (avgLogprob 1, mmi 1), no persona filter', weights: SHIPPED_BEFORE, personaFilter: false },
  { name: 'forward', weights: FORWARD, personaFilter: true },
  { name: 'pure mmi', weights: { mmi: 1 }, personaFilter: true },
  { name: 'mmi-heavy', weights: { avgLogprob: 1, mmi: 2 }, personaFilter: true },
  { name: 'shipped before #22 + filter', weights: SHIPPED_BEFORE, personaFilter: true },
  { name: '+ persona.facts 1', weights: { ...SHIPPED_BEFORE, 'persona.facts': 1 }, personaFilter: true },
  { name: '+ persona.facts 1, grounding.overlap 2', weights: { ...SHIPPED_BEFORE, 'persona.facts': 1, 'grounding.overlap': 2 }, personaFilter: true },
  { name: '+ persona.facts 1, grounding.overlap 4', weights: { ...SHIPPED_BEFORE, 'persona.facts': 1, 'grounding.overlap': 4 }, personaFilter: true },
  {
    name: '+ persona.facts 1, persona.overlap 0.5, grounding.overlap 4',
    weights: { ...SHIPPED_BEFORE, 'persona.facts': 1, 'persona.overlap': 0.5, 'grounding.overlap': 4 },
    personaFilter: true,
  },
  {
    name: 'mmi 2 + persona.facts 1, grounding.overlap 4',
    weights: { avgLogprob: 1, mmi: 2, 'persona.facts': 1, 'grounding.overlap': 4 },
    personaFilter: true,
  },
  { name: 'mmi 3 + persona.facts 1, grounding.overlap 4', weights: { avgLogprob: 1, mmi: 3, 'persona.facts': 1, 'grounding.overlap': 4 }, personaFilter: true },
  { name: 'mmi 2 + persona.facts 2, grounding.overlap 6', weights: { avgLogprob: 1, mmi: 2, 'persona.facts': 2, 'grounding.overlap': 6 }, personaFilter: true },
  { name: 'pure mmi + persona.facts 1, grounding.overlap 4', weights: { mmi: 1, 'persona.facts': 1, 'grounding.overlap': 4 }, personaFilter: true },
  { name: 'pure mmi + persona.facts 1, grounding.overlap 2', weights: { mmi: 1, 'persona.facts': 1, 'grounding.overlap': 2 }, personaFilter: true },
  { name: 'pure mmi + persona.facts 1, grounding.overlap 6', weights: { mmi: 1, 'persona.facts': 1, 'grounding.overlap': 6 }, personaFilter: true },
  { name: 'pure mmi + persona.facts 2, grounding.overlap 4', weights: { mmi: 1, 'persona.facts': 2, 'grounding.overlap': 4 }, personaFilter: true },
  { name: 'avgLogprob 0.5, mmi 1 + persona.facts 1, grounding.overlap 4', weights: { avgLogprob: 0.5, mmi: 1, 'persona.facts': 1, 'grounding.overlap': 4 }, personaFilter: true },
  {
    name: 'pure mmi + persona.facts 1, persona.overlap 0.5, grounding.overlap 4',
    weights: { mmi: 1, 'persona.facts': 1, 'persona.overlap': 0.5, 'grounding.overlap': 4 },
    personaFilter: true,
  },
];

const round = (x: number) => Math.round(x * 1000) / 1000;
const share = (count: number, total: number) => (total === 0 ? 0 : round(count / total));

export async function evalSelection(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      config: { type: 'string' },
      personas: { type: 'string', default: '200' },
      knowledge: { type: 'string', default: '80' },
      benign: { type: 'string', default: '80' },
      candidates: { type: 'string', default: '8' },
      seed: { type: 'string', default: '1' },
      quick: { type: 'boolean', default: false },
      save: { type: 'string' },
      from: { type: 'string' },
    },
  });
  if (values.from) return report(JSON.parse(await readFile(values.from, 'utf8')) as SavedRun);
  const root = packageRoot();
  const dataFile = resolve(values.data ?? join(root, 'tools', '.work', 'data', 'valid.jsonl'));
  if (!existsSync(dataFile)) throw new Error(`No validation dialogues at ${dataFile}: run \`python3 tools/data/prepare.py\` first, or pass --data FILE`);
  const limits = values.quick
    ? { persona: 30, knowledge: 20, benign: 20 }
    : { persona: Number(values.personas), knowledge: Number(values.knowledge), benign: Number(values.benign) };
  const seed = Number(values.seed);

  const dialogues = (await readFile(dataFile, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Dialogue);
  const loaded = await loadConfig(values.config);
  const config = loaded.config;
  config.decoding = { ...config.decoding, strategy: 'sample', numCandidates: Number(values.candidates), seed };
  config.history = { ...config.history, store: 'memory://' };
  config.presets = { ...config.presets, routes: {} };
  config.adapters = {};
  config.log = { level: 'silent' };
  const facts: { current?: string } = {};
  // The snippet a knowledge context drew on, in the prompt as grounding would put a retrieved one.
  const injector: Plugin = {
    name: 'eval-knowledge',
    prompt(turn: Turn) {
      if (facts.current) turn.prompt.knowledge = [facts.current];
    },
  };
  const bot = await createBot(loaded, { plugins: [injector] });

  try {
    const defaultPersona = bot.presets.get(config.presets.default)?.persona ?? [];
    const contexts = [
      ...personaContexts(dialogues, defaultPersona, limits.persona),
      ...knowledgeContexts(dialogues, limits.knowledge),
      ...benignContexts(dialogues, limits.benign),
    ];
    const seen: { turn?: Turn } = {};
    bot.events.on('candidates', ({ turn }) => (seen.turn = turn));
    const results: Result[] = [];
    for (const [i, context] of contexts.entries()) {
      const address = { platform: 'eval', channel: `${context.kind}-${i}` };
      const conversation = await bot.conversation(address);
      conversation.history = context.history;
      if (context.persona) conversation.persona = context.persona;
      await bot.saveConversation(conversation);
      facts.current = context.knowledge;
      await bot.handle({ ...address, text: context.message, user: { id: 'eval' } });
      results.push({ context, candidates: (seen.turn?.candidates ?? []).map((candidate) => ({ ...candidate, tokens: [] })) });
      seen.turn = undefined;
      if ((i + 1) % 25 === 0) process.stderr.write(`selection: ${i + 1}/${contexts.length} contexts\n`);
    }
    const run: SavedRun = { data: dataFile, model: bot.engine.info.name, seed, candidatesPerContext: Number(values.candidates), defaultPersona, results };
    if (values.save) await writeFile(values.save, JSON.stringify(run));
    return report(run);
  } finally {
    await bot.stop();
  }
}

interface Result {
  context: Context;
  candidates: Candidate[];
}

/** One generation run: the candidates of every context, what `--save` writes and `--from` reads. */
interface SavedRun {
  data: string;
  model: string;
  seed: number;
  candidatesPerContext: number;
  defaultPersona: string[];
  results: Result[];
}

function report({ data, model, seed, candidatesPerContext, defaultPersona, results }: SavedRun): Record<string, unknown> {
  const rows = WEIGHTINGS.map((weighting) => ({ name: weighting.name, weights: weighting.weights, personaFilter: weighting.personaFilter, ...measure(results, weighting, defaultPersona) }));
  const benign = results.filter((r) => r.context.kind === 'benign');
  const benignCandidates = benign.flatMap((r) => r.candidates);
  const knowledge = results.filter((r) => r.context.kind === 'knowledge');
  const all = results.flatMap((r) => r.candidates);
  return {
    eval: 'selection',
    data,
    model,
    seed,
    candidatesPerContext,
    contexts: { persona: count(results, 'persona'), knowledge: count(results, 'knowledge'), benign: count(results, 'benign') },
    targets: { personaAgree: '>= 0.70', personaContradict: '<= 0.10', knowledgeF1: '>= 0.25', benignRejected: '<= 0.03', fallback: '<= 0.01', distinct2: '>= forward + 0.05, BLEU not below forward' },
    benignCandidatesRejectedBySafety: share(benignCandidates.filter((c) => c.rejected?.by === 'safety').length, benignCandidates.length),
    candidatesRejectedByPersona: share(all.filter((c) => c.rejected?.by === 'persona').length, all.length),
    humanKnowledgeF1: round(mean(knowledge.map((r) => knowledgeF1(r.context.reference ?? '', r.context.knowledge ?? '')))),
    bestCandidateKnowledgeF1: round(mean(knowledge.map((r) => Math.max(0, ...alive(r.candidates, true).map((c) => knowledgeF1(c.text, r.context.knowledge ?? '')))))),
    weightings: rows,
  };
}

function count(results: { context: Context }[], kind: Kind): number {
  return results.filter((r) => r.context.kind === kind).length;
}

function alive(candidates: Candidate[], personaFilter: boolean): Candidate[] {
  return candidates.filter((c) => !c.rejected || (!personaFilter && c.rejected.by === 'persona'));
}

function measure(results: Result[], weighting: Weighting, defaultPersona: string[]) {
  const picks = results.map(({ context, candidates }) => {
    const live = alive(candidates, weighting.personaFilter);
    const index = selectCandidate(live, weighting.weights);
    return { context, text: index === -1 ? undefined : live[index].text };
  });
  const persona = picks.filter((p) => p.context.kind === 'persona');
  const judged = persona.map((p) => (p.text === undefined ? 'fallback' : judgePersona(p.text, p.context.persona ?? defaultPersona, p.context.topic!)));
  const knowledge = picks.filter((p) => p.context.kind === 'knowledge');
  const benign = picks.filter((p) => p.context.kind === 'benign');
  const spoken = [...knowledge, ...benign].filter((p) => p.text !== undefined);
  return {
    personaAgree: share(judged.filter((j) => j === 'agree').length, judged.length),
    personaContradict: share(judged.filter((j) => j === 'contradict').length, judged.length),
    personaFallback: share(judged.filter((j) => j === 'fallback').length, judged.length),
    knowledgeF1: round(mean(knowledge.map((p) => (p.text === undefined ? 0 : knowledgeF1(p.text, p.context.knowledge ?? ''))))),
    distinct2: round(distinct(spoken.map((p) => p.text!), 2)),
    bleu2: round(corpusBleu(spoken.map((p) => [p.text!, p.context.reference ?? '']), 2)),
    bleu4: round(corpusBleu(spoken.map((p) => [p.text!, p.context.reference ?? '']), 4)),
    benignFallback: share(benign.filter((p) => p.text === undefined).length, benign.length),
    examples: persona.slice(0, 3).map((p, i) => ({ question: p.context.message, reply: p.text ?? '(fallback)', judged: judged[i] })),
  };
}

/** agree / contradict / ignore, as the header describes. */
export function judgePersona(reply: string, persona: readonly string[], topic: Topic): 'agree' | 'contradict' | 'ignore' {
  const known = persona.flatMap(factsOf);
  const said = factsOf(reply);
  const negates = checkConsistency(reply, { persona, role: false, selfNames: [], facts: [] }).length > 0;
  if (negates || said.some((fact) => known.some((k) => contradicts(k, fact)))) return 'contradict';
  const onTopic = known.filter((fact) => fact.topic === topic);
  if (said.some((fact) => onTopic.some((k) => agrees(k, fact)))) return 'agree';
  const words = new Set(normalized(reply));
  if (onTopic.some((fact) => fact.value !== '' && fact.value.split(' ').every((word) => words.has(word) || words.has(`${word}s`)))) return 'agree';
  const lines = persona.filter((line) => factsOf(line).some((fact) => fact.topic === topic));
  return personaOverlap(reply, lines) >= 0.5 ? 'agree' : 'ignore';
}

/** ParlAI's normalization: lower case, no punctuation, no articles. */
function normalized(text: string): string[] {
  return (text.toLowerCase().replace(/[’']/g, "'").match(/[a-z0-9']+/g) ?? []).filter((word) => !['a', 'an', 'the'].includes(word));
}

export function knowledgeF1(reply: string, fact: string): number {
  const said = normalized(reply);
  const counts = new Map<string, number>();
  for (const word of normalized(fact)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const total = normalized(fact).length;
  let shared = 0;
  for (const word of said) {
    const left = counts.get(word) ?? 0;
    if (left > 0) {
      shared++;
      counts.set(word, left - 1);
    }
  }
  if (shared === 0) return 0;
  const precision = shared / said.length;
  const recall = shared / total;
  return (2 * precision * recall) / (precision + recall);
}

/** Corpus BLEU-n (uniform weights, brevity penalty) of [hypothesis, reference] pairs, normalized words. */
export function corpusBleu(pairs: [string, string][], n: number): number {
  const matches = Array(n).fill(0);
  const totals = Array(n).fill(0);
  let hypLength = 0;
  let refLength = 0;
  for (const [hypothesis, reference] of pairs) {
    const hyp = normalized(hypothesis);
    const ref = normalized(reference);
    hypLength += hyp.length;
    refLength += ref.length;
    for (let k = 1; k <= n; k++) {
      const refCounts = new Map<string, number>();
      for (let i = 0; i + k <= ref.length; i++) refCounts.set(ref.slice(i, i + k).join(' '), (refCounts.get(ref.slice(i, i + k).join(' ')) ?? 0) + 1);
      for (let i = 0; i + k <= hyp.length; i++) {
        const gram = hyp.slice(i, i + k).join(' ');
        const left = refCounts.get(gram) ?? 0;
        if (left > 0) {
          matches[k - 1]++;
          refCounts.set(gram, left - 1);
        }
        totals[k - 1]++;
      }
    }
  }
  if (matches.some((m) => m === 0)) return 0;
  const logPrecision = matches.reduce((sum, m, i) => sum + Math.log(m / totals[i]), 0) / n;
  const brevity = hypLength >= refLength ? 1 : Math.exp(1 - refLength / Math.max(1, hypLength));
  return brevity * Math.exp(logPrecision);
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function personaContexts(dialogues: Dialogue[], defaultPersona: string[], limit: number): Context[] {
  const personas: (string[] | undefined)[] = [undefined];
  for (const dialogue of dialogues.filter((d) => d.source === 'synthetic-persona-chat')) personas.push(dialogue.persona ?? [], dialogue.user_persona ?? []);
  const out: Context[] = [];
  for (const persona of personas) {
    const lines = persona ?? defaultPersona;
    const topics = new Set(lines.flatMap(factsOf).map((fact) => fact.topic));
    // The default preset's name is the bot's: ask it even though no persona list of the data has one.
    for (const topic of topics) out.push({ kind: 'persona', persona, history: [], message: QUESTIONS[topic], topic });
  }
  return out.slice(0, limit);
}

function knowledgeContexts(dialogues: Dialogue[], limit: number): Context[] {
  const out: Context[] = [];
  for (const dialogue of dialogues.filter((d) => d.source === 'topical-chat')) {
    for (const [i, turn] of dialogue.turns.entries()) {
      if (turn.speaker !== 'bot' || !turn.knowledge?.length || i === 0 || dialogue.turns[i - 1].speaker !== 'user') continue;
      out.push({
        kind: 'knowledge',
        history: dialogue.turns.slice(Math.max(0, i - 5), i - 1).map((t) => ({ role: t.speaker, text: t.text, at: 0 })),
        message: dialogue.turns[i - 1].text,
        knowledge: turn.knowledge[0],
        reference: turn.text,
      });
    }
  }
  return out.slice(0, limit);
}

function benignContexts(dialogues: Dialogue[], limit: number): Context[] {
  const sources = ['synthetic-persona-chat', 'topical-chat', 'sgd'];
  const bySource = sources.map((source) =>
    dialogues
      .filter((d) => d.source === source)
      .flatMap((d): Context[] => {
        // The second user message (the first is often "Hi"), with the exchange before it.
        const at = d.turns.findIndex((t, i) => i >= 2 && t.speaker === 'user' && d.turns[i + 1]?.speaker === 'bot');
        if (at < 0) return [];
        return [{ kind: 'benign', history: d.turns.slice(0, at).map((t) => ({ role: t.speaker, text: t.text, at: 0 })), message: d.turns[at].text, reference: d.turns[at + 1].text }];
      }),
  );
  // Round-robin over the sources, so a small limit still covers all three.
  const out: Context[] = [];
  for (let i = 0; out.length < limit && bySource.some((list) => i < list.length); i++) {
    for (const list of bySource) if (i < list.length && out.length < limit) out.push(list[i]);
  }
  return out;
}
