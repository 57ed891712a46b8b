/** The model's tokenizer.json through @huggingface/tokenizers; added (special) tokens encode as single ids. */
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from './types.js';

export class HfTextTokenizer implements TextTokenizer {
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: object, tokenizerConfig: object) {
    // Decoding must not alter spaces around punctuation: replies are shown as the model wrote them.
    this.tokenizer = new Tokenizer(tokenizerJson, { ...tokenizerConfig, clean_up_tokenization_spaces: false });
  }

  /** Token ids of `text`; special tokens written in the text (e.g. `<|user|>`) become their ids. */
  encode(text: string): number[] {
    if (text === '') return [];
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids` without special tokens ('' for none: a reply may end at once). */
  decode(ids: number[]): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** The vocabulary string of one id (e.g. `<|endoftext|>`). */
  tokenText(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }
}
