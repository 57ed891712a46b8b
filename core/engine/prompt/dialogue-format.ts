/**
 * Renders dialogue parts in a model's declared DialogueFormat (dialogue_format.json: GPT-2,
 * DialoGPT, banter's own models). The format's templates are markup; `{text}` is filled with plain
 * text, so special tokens typed by a user stay characters.
 */
import type { TextPart } from '../tokenizer.js';
import type { DialogueFormat, TextTokenizer } from '../types.js';
import type { PromptParts } from '../../types.js';
import { fitPrompt } from './fit.js';
import type { ChatMessage, EncodedPrompt, PromptEncoder, TurnText } from './types.js';

/** DialoGPT's format: every turn followed by the end-of-text token; used when a folder declares none. */
export function dialoGptFormat(endToken: string): DialogueFormat {
  return { user: `{text}${endToken}`, bot: `{text}${endToken}`, responsePrefix: '', end: endToken, direction: 'forward' };
}

/** A template's markup around plain `text`. */
function fill(template: string, text: string): TextPart[] {
  const [before, ...rest] = template.split('{text}');
  const after = rest.join(text);
  return [
    { text: before, plain: false },
    { text, plain: true },
    { text: after, plain: false },
  ];
}

export class DialogueEncoder implements PromptEncoder {
  readonly kind = 'dialogue-format';
  readonly direction: 'forward' | 'backward';

  constructor(
    private readonly format: DialogueFormat,
    private readonly tokenizer: TextTokenizer,
    private readonly contextWindow: number,
  ) {
    this.direction = format.direction ?? 'forward';
  }

  private encodeTurn(turn: TurnText): number[] {
    return this.tokenizer.encodeParts(fill(turn.role === 'user' ? this.format.user : this.format.bot, turn.text));
  }

  /** Persona lines as their own segments, or (no persona template) as one leading bot turn. */
  private encodePersona(lines: string[]): number[] {
    if (lines.length === 0) return [];
    if (this.format.persona !== undefined) return lines.flatMap((line) => this.tokenizer.encodeParts(fill(this.format.persona!, line)));
    return this.encodeTurn({ role: 'bot', text: lines.join(' ') });
  }

  private encodeKnowledge(snippets: string[]): number[] {
    return snippets.flatMap((snippet) => this.tokenizer.encodeParts(fill(this.format.knowledge!, snippet)));
  }

  encodeTurns(turns: TurnText[]): number[] {
    return [...this.tokenizer.encodeMarkup(this.format.prefix ?? ''), ...turns.flatMap((turn) => this.encodeTurn(turn))];
  }

  encodeMessages(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): number[] {
    const persona = messages.filter((m) => m.role === 'system').map((m) => m.content);
    const turns = messages.filter((m) => m.role !== 'system').map((m): TurnText => ({ role: m.role === 'user' ? 'user' : 'bot', text: m.content }));
    return [
      ...this.tokenizer.encodeMarkup(this.format.prefix ?? ''),
      ...this.encodePersona(persona),
      ...turns.flatMap((turn) => this.encodeTurn(turn)),
      ...(options.addGenerationPrompt ? this.tokenizer.encodeMarkup(this.format.responsePrefix) : []),
    ];
  }

  encodeDialogue(parts: PromptParts, reserve: number): EncodedPrompt {
    const prefix = this.tokenizer.encodeMarkup(this.format.prefix ?? '');
    const responsePrefix = this.tokenizer.encodeMarkup(this.format.responsePrefix);
    // Each turn is its own tokenization unit: encode each once, however often the fit retries.
    const turnTokens = new Map<TurnText, number[]>();
    const turn = (t: TurnText) => turnTokens.get(t) ?? turnTokens.set(t, this.encodeTurn(t)).get(t)!;
    const encode = (candidate: PromptParts): number[] => {
      const history = candidate.history.map(turn);
      const ordered = (this.direction === 'backward' ? [...history].reverse() : history).flat();
      const persona = this.encodePersona(candidate.persona);
      const knowledge = this.encodeKnowledge(candidate.knowledge);
      return this.format.knowledgePlacement === 'before-response'
        ? [...prefix, ...persona, ...ordered, ...knowledge, ...responsePrefix]
        : [...prefix, ...persona, ...knowledge, ...ordered, ...responsePrefix];
    };
    // Without a knowledge template the model has no way to read knowledge: it is dropped.
    const readable = this.format.knowledge !== undefined ? parts : { ...parts, knowledge: [] };
    return fitPrompt(readable, this.contextWindow - reserve, encode, this.tokenizer, () => this.tooLong(reserve));
  }

  private tooLong(reserve: number): string {
    return `cannot fit the prompt into the context window (${this.contextWindow} tokens) while reserving ${reserve} for the reply`;
  }
}
