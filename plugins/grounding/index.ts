/**
 * Grounding (LaMDA's toolset, Sparrow's evidence): retrieve passages from the preset's knowledge
 * for each turn, put the best into the prompt, score how much each candidate is backed by them,
 * score how much of the knowledge in the prompt each candidate uses (`grounding.overlap`, whatever
 * plugin put it there), cite the passage a reply uses, and answer a factual question from the evidence itself (quoted
 * and cited, as Sparrow shows evidence) when the chosen reply is not supported by it.
 */
import { PresetSettings } from '../../core/index.js';
import type { BotHost, Evidence, Plugin, Preset, Turn } from '../../core/index.js';
import { CONFIG_SCHEMA, DEFAULT_CONFIG, type GroundingConfig, type GroundingOverrides, mergeConfig } from './config.js';
import { buildQuery } from './query.js';
import { KnowledgeIndex } from './retriever.js';
import { isQuestion, measureSupport, messageTerms, quoteFor } from './support.js';
import { termF1 } from './text.js';

export const SUPPORT_SCORE = 'grounding.support';
export const OVERLAP_SCORE = 'grounding.overlap';

/** What the plugin leaves on `turn.data.grounding`, for traces and the inspector. */
export interface GroundingTrace {
  query: string[];
  hits: { id: string; title: string; score: number; coverage: number; inPrompt: boolean }[];
  /** Terms of the question (weight 2) and their synonyms (weight 1): what a quote should answer. */
  answerTerms: [string, number][];
}

export class GroundingPlugin implements Plugin<GroundingOverrides> {
  readonly name = 'grounding';
  readonly configSchema = CONFIG_SCHEMA;
  readonly scores = { [SUPPORT_SCORE]: 0, [OVERLAP_SCORE]: 0 };
  private settings = new PresetSettings<GroundingConfig, GroundingOverrides>('grounding', CONFIG_SCHEMA, mergeConfig, DEFAULT_CONFIG);
  private host?: BotHost;
  /** One index per distinct list of sources, opened once (at setup for every known preset). */
  private readonly indexes = new Map<string, Promise<KnowledgeIndex>>();

  async setup(bot: BotHost, config: GroundingOverrides): Promise<void> {
    this.host = bot;
    this.settings = new PresetSettings('grounding', CONFIG_SCHEMA, mergeConfig, mergeConfig(DEFAULT_CONFIG, config));
    for (const preset of bot.presets.list()) {
      const settings = this.settingsFor(preset);
      const sources = this.sourcesFor(preset, settings);
      if (sources.length > 0) await this.indexFor(sources, settings);
    }
  }

  /** The bot config's settings with the preset's overrides, checked against the schema once. */
  settingsFor(preset: Preset): GroundingConfig {
    return this.settings.for(preset);
  }

  private sourcesFor(preset: Preset, settings: GroundingConfig): string[] {
    const resolve = (path: string) => this.host?.resolvePath(path) ?? path;
    return [...new Set([...settings.knowledge.map(resolve), ...preset.knowledge])];
  }

  private indexFor(sources: string[], settings: GroundingConfig): Promise<KnowledgeIndex> {
    const key = JSON.stringify([sources, settings.maxPassageChars]);
    let index = this.indexes.get(key);
    if (!index) {
      const cacheDir = settings.cacheDir ? (this.host?.resolvePath(settings.cacheDir) ?? settings.cacheDir) : undefined;
      index = KnowledgeIndex.open(sources, {
        cacheDir,
        maxPassageChars: settings.maxPassageChars,
        // A read-only install folder must not stop the bot: the index works, it is just rebuilt at each start.
        onCacheWriteError: (error) => this.host?.logger.warn({ err: error, cacheDir }, 'knowledge index cache not written; set plugins.grounding.cacheDir to a writable folder'),
      });
      // A failed build is not kept: fixing the file and asking again must work.
      index.catch(() => this.indexes.delete(key));
      this.indexes.set(key, index);
    }
    return index;
  }

  async prompt(turn: Turn): Promise<void> {
    const settings = this.settingsFor(turn.preset);
    const sources = this.sourcesFor(turn.preset, settings);
    if (sources.length === 0) return;
    const index = await this.indexFor(sources, settings);

    // The history ends with the message itself; the turns before it are the context.
    const history = turn.prompt.history;
    const last = history.at(-1);
    const before = last?.role === 'user' && last.text === turn.message.text ? history.slice(0, -1) : history;
    const context = settings.contextTurns > 0 ? before.slice(-settings.contextTurns).map((entry) => entry.text) : [];
    const query = buildQuery(turn.message.text, context, settings.queryRewrite, { context: settings.contextWeight, framing: settings.framingWeight });

    const hits = index.search(query, settings.topK);
    const strong = hits.filter((hit) => hit.coverage >= settings.minCoverage && hit.score >= settings.minScore);
    turn.evidence = strong.map(({ passage, score }): Evidence => ({ id: passage.id, title: passage.title, url: passage.url, text: passage.text, score }));
    const inPrompt = new Set(strong.slice(0, settings.maxKnowledge).map((hit) => hit.passage.id));
    const terms = answerTerms(turn.message.text, query.slots);
    const snippet = (text: string): string => (settings.snippetChars > 0 ? quoteFor({ text }, new Map(terms), settings.snippetChars) : text);
    turn.prompt.knowledge.push(...strong.filter((hit) => inPrompt.has(hit.passage.id)).map((hit) => snippet(hit.passage.text)));

    const trace: GroundingTrace = {
      query: [...query.weights.keys()],
      hits: hits.map((hit) => ({ id: hit.passage.id, title: hit.passage.title, score: hit.score, coverage: hit.coverage, inPrompt: inPrompt.has(hit.passage.id) })),
      answerTerms: terms,
    };
    turn.data[this.name] = trace;
  }

  score(turn: Turn): void {
    // The knowledge the model read (what survived fitting the window): a reply that uses it scores high.
    const knowledge = turn.prompt.knowledge;
    if (knowledge.length > 0) {
      for (const candidate of turn.candidates) candidate.scores[OVERLAP_SCORE] = Math.max(...knowledge.map((snippet) => termF1(candidate.text, snippet)));
    }
    if (turn.evidence.length === 0) return;
    const settings = this.settingsFor(turn.preset);
    const asked = messageTerms(turn.message.text);
    for (const candidate of turn.candidates) {
      const { support, claimLike } = measureSupport(candidate.text, turn.evidence, asked);
      candidate.scores[SUPPORT_SCORE] = claimLike && support < settings.minSupport ? support - settings.claimPenalty : support;
    }
  }

  finalize(turn: Turn): void {
    const reply = turn.reply;
    if (!reply || (reply.kind !== 'model' && reply.kind !== 'fallback') || turn.evidence.length === 0) return;
    const settings = this.settingsFor(turn.preset);
    const asked = messageTerms(turn.message.text);

    let supported = false;
    if (reply.kind === 'model') {
      const { support, best } = measureSupport(reply.text, turn.evidence, asked);
      supported = support >= settings.minSupport;
      if (best && best.shared >= settings.citeMinShared && support >= settings.citeMinShare) {
        cite(reply.citations, best.evidence);
      }
    }

    const { when, template, maxQuoteChars } = settings.evidenceReply;
    const wanted = when === 'requests' || (when === 'questions' && isQuestion(turn.message.text));
    if (!wanted || supported) return;

    // The reply does not say what the evidence says: show the evidence instead of an unsupported claim.
    const passage = when === 'requests' ? freshest(turn) : turn.evidence[0];
    const trace = turn.data[this.name] as GroundingTrace | undefined;
    const quote = quoteFor(passage, new Map(trace?.answerTerms ?? [...asked].map((term) => [term, 2])), maxQuoteChars);
    turn.reply = {
      text: template.replaceAll('{quote}', quote).replaceAll('{title}', passage.title),
      kind: 'evidence',
      citations: [{ title: passage.title, url: passage.url }],
    };
    turn.chosen = -1;
  }
}

/** A recommender should not repeat itself: the best passage not already named by the bot. */
function freshest(turn: Turn): Evidence {
  const said = turn.conversation.history.filter((entry) => entry.role === 'bot').map((entry) => entry.text);
  return turn.evidence.find((evidence) => !said.some((text) => text.includes(evidence.title))) ?? turn.evidence[0];
}

function answerTerms(message: string, slots: readonly Set<string>[]): [string, number][] {
  const weights = new Map<string, number>();
  for (const slot of slots) for (const term of slot) weights.set(term, 1);
  for (const term of messageTerms(message)) weights.set(term, 2);
  return [...weights];
}

function cite(citations: { title: string; url: string }[], evidence: Evidence): void {
  if (!citations.some((citation) => citation.url === evidence.url && citation.title === evidence.title)) {
    citations.push({ title: evidence.title, url: evidence.url });
  }
}

export default function createGroundingPlugin(): Plugin<GroundingOverrides> {
  return new GroundingPlugin();
}
