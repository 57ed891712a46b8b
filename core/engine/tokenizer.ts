/**
 * The model's tokenizer.json through @huggingface/tokenizers, with one rule the library does not
 * have: text that came from people (messages, knowledge) is always encoded as plain text, so a
 * user who types `<|im_start|>system` gets the tokens of those characters, never the model's
 * control token. Only markup that banter itself renders (templates) may produce special tokens.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from './types.js';

/** A piece of a prompt: markup (template text, may hold special tokens) or plain text. */
export interface TextPart {
  text: string;
  plain: boolean;
}

interface AddedTokenSpec {
  id: number;
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
}

interface TokenizerInternals {
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string, options: { section_index: number }) => string[]) | null;
  model: ((tokens: string[]) => string[]) & { tokens_to_ids: Map<string, number>; unk_token_id?: number };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class HfTextTokenizer implements TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly internals: TokenizerInternals;
  private readonly added = new Map<string, AddedTokenSpec>();
  /** Longest added token first, so that `<|im_start|>` wins over a shorter prefix. */
  private readonly addedPattern: RegExp | null;
  private readonly specialIds: Set<number>;

  constructor(tokenizerJson: object, tokenizerConfig: object) {
    // Decoding must not alter spaces around punctuation: replies are shown as the model wrote them.
    this.tokenizer = new Tokenizer(tokenizerJson, { ...tokenizerConfig, clean_up_tokenization_spaces: false });
    this.internals = this.tokenizer as unknown as TokenizerInternals;
    const addedTokens = ((tokenizerJson as { added_tokens?: AddedTokenSpec[] }).added_tokens ?? []).filter((token) => token.content);
    for (const token of addedTokens) this.added.set(token.content, token);
    const contents = [...this.added.keys()].sort((a, b) => b.length - a.length);
    this.addedPattern = contents.length > 0 ? new RegExp(contents.map(escapeRegExp).join('|'), 'g') : null;
    this.specialIds = new Set(addedTokens.filter((token) => token.special).map((token) => token.id));
  }

  /** Token ids of `text` as plain text: special-token strings in it are just characters. */
  encode(text: string): number[] {
    return this.encodeParts([{ text, plain: true }]);
  }

  /** Token ids of markup: special tokens written in it (e.g. `<|user|>`) become their ids. */
  encodeMarkup(text: string): number[] {
    return this.encodeParts([{ text, plain: false }]);
  }

  /**
   * Encodes the concatenation of `parts` exactly as the tokenizer encodes the whole string
   * (sections split at added tokens, each normalized and pre-tokenized on its own), except that
   * added tokens are recognised in markup parts only.
   */
  encodeParts(parts: readonly TextPart[]): number[] {
    // Sections of the joined string between recognised added tokens.
    const pieces: ({ token: AddedTokenSpec } | { text: string; start: number })[] = [];
    let pending = '';
    let pendingStart = 0;
    let offset = 0;
    const flush = () => {
      if (pending) pieces.push({ text: pending, start: pendingStart });
      pending = '';
    };
    for (const part of parts) {
      let cursor = 0;
      if (!part.plain && this.addedPattern) {
        this.addedPattern.lastIndex = 0;
        for (const match of part.text.matchAll(this.addedPattern)) {
          if (!pending) pendingStart = offset + cursor;
          pending += part.text.slice(cursor, match.index);
          flush();
          pieces.push({ token: this.added.get(match[0])! });
          cursor = match.index + match[0].length;
        }
      }
      if (cursor < part.text.length && !pending) pendingStart = offset + cursor;
      pending += part.text.slice(cursor);
      offset += part.text.length;
    }
    flush();
    // An added token's lstrip / rstrip eats the whitespace beside it, as the tokenizer does.
    pieces.forEach((piece, i) => {
      if (!('token' in piece)) return;
      const before = pieces[i - 1];
      const after = pieces[i + 1];
      if (piece.token.lstrip && before && 'text' in before) before.text = before.text.trimEnd();
      if (piece.token.rstrip && after && 'text' in after) after.text = after.text.trimStart();
    });
    return pieces.flatMap((piece) => ('token' in piece ? [piece.token.id] : this.encodeSection(piece.text, piece.start === 0 ? 0 : 1)));
  }

  /** One section between added tokens: normalizer, pre-tokenizer, model — never added-token matching. */
  private encodeSection(text: string, sectionIndex: number): number[] {
    if (!text) return [];
    const { normalizer, pre_tokenizer: preTokenizer, model } = this.internals;
    const normalized = normalizer ? normalizer(text) : text;
    if (!normalized) return [];
    const words = preTokenizer ? preTokenizer(normalized, { section_index: sectionIndex }) : [normalized];
    return model(words).map((token) => model.tokens_to_ids.get(token) ?? model.unk_token_id ?? 0);
  }

  /**
   * `text` with every added-token string broken by a word joiner (U+2060), so that no tokenizer
   * reads it as a control token: the fallback for templates that rewrite message contents.
   */
  neutralize(text: string): string {
    return this.addedPattern ? text.replace(this.addedPattern, (token) => `${token[0]}\u2060${token.slice(1)}`) : text;
  }

  /** Text of `ids`; special tokens are dropped unless `keepSpecial` ('' for none: a reply may end at once). */
  decode(ids: number[], options: { keepSpecial?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: !options.keepSpecial });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** The vocabulary string of one id (e.g. `<|endoftext|>`). */
  tokenText(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }
}
