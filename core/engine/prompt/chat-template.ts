/**
 * Prompts from a model's own chat template (Jinja, rendered with @huggingface/jinja as transformers
 * and transformers.js render it). Persona lines and knowledge go into the system message (or the
 * template's `documents` when it reads them); the bot's turns are `assistant` messages.
 *
 * Message contents are plain text: they are rendered between two private-use sentinel characters,
 * which mark which characters of the rendered prompt came from people; only the rest (the
 * template's markup) may produce special tokens.
 */
import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from '../errors.js';
import type { TextPart } from '../tokenizer.js';
import type { PromptParts } from '../../types.js';
import type { TextTokenizer } from '../types.js';
import { fitPrompt } from './fit.js';
import type { ChatMessage, EncodedPrompt, PromptEncoder, TurnText } from './types.js';

const OPEN = '\uE000';
const CLOSE = '\uE001';
const SENTINELS = /[\uE000\uE001]/g;

/** Headings of the system message that banter writes from the prompt parts. */
export interface SystemMessageText {
  /** Put before the knowledge snippets in the system message. */
  knowledgeHeading: string;
}

const DEFAULT_SYSTEM_TEXT: SystemMessageText = { knowledgeHeading: 'Facts you can use in your reply:' };

/** Special-token strings the template may use (`bos_token`, ...), as transformers.js passes them. */
export function templateSpecialTokens(tokenizerConfig: Record<string, unknown>): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    const value = tokenizerConfig[key];
    if (typeof value === 'string' && value) tokens[key] = value;
    else if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
      tokens[key] = (value as { content: string }).content;
    }
  }
  return tokens;
}

/** Consecutive messages of one role become one (many templates insist on alternating roles). */
function mergeRuns(messages: ChatMessage[]): ChatMessage[] {
  const merged: ChatMessage[] = [];
  for (const message of messages) {
    const last = merged.at(-1);
    if (last && last.role === message.role && message.role !== 'system') last.content = `${last.content}\n${message.content}`;
    else merged.push({ ...message });
  }
  return merged;
}

/** The system message folded into the first user turn, for templates that refuse a system role. */
function foldSystem(messages: ChatMessage[]): ChatMessage[] | undefined {
  if (messages[0]?.role !== 'system') return undefined;
  const [system, ...rest] = messages;
  if (rest[0]?.role === 'user') return [{ role: 'user', content: `${system.content}\n\n${rest[0].content}` }, ...rest.slice(1)];
  return [{ role: 'user', content: system.content }, ...rest];
}

/** Without leading assistant turns, for templates whose conversation must start with the user. */
function userFirst(messages: ChatMessage[]): ChatMessage[] | undefined {
  const start = messages.findIndex((m) => m.role !== 'assistant');
  return start > 0 ? messages.slice(start) : undefined;
}

export class ChatTemplateEncoder implements PromptEncoder {
  readonly kind = 'chat-template';
  readonly direction = 'forward';
  private readonly template: Template;
  /** Templates that read `documents` (retrieval-augmented chat models) get the knowledge there. */
  private readonly takesDocuments: boolean;

  constructor(
    readonly source: string,
    private readonly tokenizer: TextTokenizer & { neutralize(text: string): string },
    private readonly specialTokens: Record<string, string>,
    private readonly contextWindow: number,
    private readonly systemText: SystemMessageText = DEFAULT_SYSTEM_TEXT,
  ) {
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new ChatTemplateError(`the model's chat_template does not parse: ${(error as Error).message}`, { cause: error });
    }
    this.takesDocuments = /\bdocuments\b/.test(source);
  }

  /** The rendered prompt as markup and plain parts. */
  render(messages: ChatMessage[], options: { addGenerationPrompt: boolean; documents?: string[] }): TextPart[] {
    const clean = (text: string) => text.replace(SENTINELS, '').trim();
    const marked = (text: string) => `${OPEN}${clean(text)}${CLOSE}`;
    const run = (list: ChatMessage[], mark: (text: string) => string) =>
      this.template.render({
        messages: list.map((m) => ({ role: m.role, content: mark(m.content) })),
        add_generation_prompt: options.addGenerationPrompt,
        documents: options.documents?.map((text, i) => ({ title: `${i + 1}`, text: mark(text) })) ?? null,
        tools: null,
        enable_thinking: false,
        ...this.specialTokens,
      });
    const rendered = this.renderWithFallbacks(messages, (list) => run(list, marked));
    const parts = splitMarked(rendered);
    if (parts) return parts;
    // The template rewrote the contents (split them, sliced them): render them neutralized instead.
    return [{ text: this.renderWithFallbacks(messages, (list) => run(list, (text) => this.tokenizer.neutralize(clean(text)))), plain: false }];
  }

  private renderWithFallbacks(messages: ChatMessage[], render: (messages: ChatMessage[]) => string): string {
    const merged = mergeRuns(messages);
    const folded = foldSystem(merged);
    const tries = [merged, folded, userFirst(merged), folded && userFirst(folded)].filter((t): t is ChatMessage[] => t !== undefined);
    let first: unknown;
    for (const attempt of tries) {
      try {
        return render(attempt);
      } catch (error) {
        first ??= error;
      }
    }
    throw new ChatTemplateError(`the model's chat template refused the conversation: ${(first as Error).message}`, { cause: first });
  }

  private messagesOf(parts: PromptParts): { messages: ChatMessage[]; documents?: string[] } {
    const knowledge = this.takesDocuments ? [] : parts.knowledge;
    const system = [
      parts.persona.join(' '),
      knowledge.length ? `${this.systemText.knowledgeHeading}\n${knowledge.map((k) => `- ${k}`).join('\n')}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
    const messages: ChatMessage[] = [
      ...(system ? [{ role: 'system' as const, content: system }] : []),
      ...parts.history.map(toMessage),
    ];
    return { messages, documents: this.takesDocuments && parts.knowledge.length ? parts.knowledge : undefined };
  }

  encodeMessages(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): number[] {
    return this.tokenizer.encodeParts(this.render(messages, options));
  }

  encodeTurns(turns: TurnText[]): number[] {
    return this.encodeMessages(turns.map(toMessage), { addGenerationPrompt: false });
  }

  encodeDialogue(parts: PromptParts, reserve: number): EncodedPrompt {
    const encode = (candidate: PromptParts) => {
      const { messages, documents } = this.messagesOf(candidate);
      return this.tokenizer.encodeParts(this.render(messages, { addGenerationPrompt: true, documents }));
    };
    return fitPrompt(parts, this.contextWindow - reserve, encode, this.tokenizer, () =>
      `cannot fit the prompt into the context window (${this.contextWindow} tokens) while reserving ${reserve} for the reply`,
    );
  }
}

function toMessage(turn: TurnText): ChatMessage {
  return { role: turn.role === 'user' ? 'user' : 'assistant', content: turn.text };
}

/** Splits a rendered prompt at the sentinels; undefined when they do not pair up in order. */
function splitMarked(rendered: string): TextPart[] | undefined {
  const parts: TextPart[] = [];
  let inside = false;
  let start = 0;
  for (let i = 0; i < rendered.length; i++) {
    const char = rendered[i];
    if (char !== OPEN && char !== CLOSE) continue;
    if ((char === OPEN) === inside) return undefined;
    parts.push({ text: rendered.slice(start, i), plain: inside });
    inside = !inside;
    start = i + 1;
  }
  if (inside) return undefined;
  parts.push({ text: rendered.slice(start), plain: false });
  return parts.filter((part) => part.text.length > 0);
}
