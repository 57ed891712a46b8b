/** Renders dialogue parts in a model's declared DialogueFormat and fits them into its context window. */
import { EngineInputError } from './errors.js';
import type { HistoryTurn, PromptParts } from '../types.js';
import type { DialogueFormat, TextTokenizer } from './types.js';

type TurnText = Pick<HistoryTurn, 'role' | 'text'>;

function render(template: string, text: string): string {
  return template.split('{text}').join(text);
}

/** DialoGPT's format: every turn followed by the end-of-text token; used when a folder declares none. */
export function dialoGptFormat(endToken: string): DialogueFormat {
  return { user: `{text}${endToken}`, bot: `{text}${endToken}`, responsePrefix: '', end: endToken, direction: 'forward' };
}

export class DialogueEncoder {
  constructor(
    private readonly format: DialogueFormat,
    private readonly tokenizer: TextTokenizer,
    private readonly contextWindow: number,
  ) {}

  private turnTemplate(role: TurnText['role']): string {
    return role === 'user' ? this.format.user : this.format.bot;
  }

  private encodeTurn(turn: TurnText): number[] {
    return this.tokenizer.encode(render(this.turnTemplate(turn.role), turn.text));
  }

  /** Persona lines as their own segments, or (no persona template) as one leading bot turn. */
  private encodePersona(lines: string[]): number[][] {
    if (lines.length === 0) return [];
    if (this.format.persona !== undefined) return lines.map((line) => this.tokenizer.encode(render(this.format.persona!, line)));
    return [this.encodeTurn({ role: 'bot', text: lines.join(' ') })];
  }

  encodeTurns(turns: TurnText[]): number[] {
    return [...this.tokenizer.encode(this.format.prefix ?? ''), ...turns.flatMap((turn) => this.encodeTurn(turn))];
  }

  encodeDialogue(parts: PromptParts, reserve: number): { tokens: number[]; kept: PromptParts } {
    const budget = this.contextWindow - reserve;
    const prefix = this.tokenizer.encode(this.format.prefix ?? '');
    const responsePrefix = this.tokenizer.encode(this.format.responsePrefix);
    const persona = [...parts.persona];
    // Without a knowledge template the model has no way to read knowledge: it is dropped.
    const knowledge = this.format.knowledge !== undefined ? [...parts.knowledge] : [];
    const history = [...parts.history];
    let personaTokens = this.encodePersona(persona);
    const knowledgeTokens = knowledge.map((snippet) => this.tokenizer.encode(render(this.format.knowledge!, snippet)));
    const historyTokens = history.map((turn) => this.encodeTurn(turn));

    const sum = (segments: number[][]) => segments.reduce((total, segment) => total + segment.length, 0);
    const total = () =>
      prefix.length + responsePrefix.length + sum(personaTokens) + sum(knowledgeTokens) + sum(historyTokens);

    // Oldest turns first, but the newest turn stays (it is what the bot answers).
    while (total() > budget && history.length > 1) {
      history.shift();
      historyTokens.shift();
    }
    // Knowledge and persona lines are dropped from the end: the first ones are the most relevant.
    while (total() > budget && knowledge.length > 0) {
      knowledge.pop();
      knowledgeTokens.pop();
    }
    while (total() > budget && persona.length > 0) {
      persona.pop();
      personaTokens = this.encodePersona(persona);
    }
    if (total() > budget && history.length === 1) {
      const [turn] = history;
      const [before, after] = this.turnTemplate(turn.role).split('{text}').map((piece) => this.tokenizer.encode(piece));
      const room = budget - (total() - historyTokens[0].length) - before.length - after.length;
      if (room >= 1) {
        const text = this.tokenizer.encode(turn.text).slice(-room);
        historyTokens[0] = [...before, ...text, ...after];
        history[0] = { ...turn, text: this.tokenizer.decode(text) };
      }
    }
    if (total() > budget) {
      throw new EngineInputError(
        `cannot fit the prompt into the context window (${this.contextWindow} tokens) while reserving ${reserve} for the reply`,
      );
    }

    const ordered = (this.format.direction === 'backward' ? [...historyTokens].reverse() : historyTokens).flat();
    const segments =
      this.format.knowledgePlacement === 'before-response'
        ? [prefix, personaTokens.flat(), ordered, knowledgeTokens.flat(), responsePrefix]
        : [prefix, personaTokens.flat(), knowledgeTokens.flat(), ordered, responsePrefix];
    const tokens = segments.flat();
    return { tokens, kept: { persona, knowledge, history } };
  }
}
