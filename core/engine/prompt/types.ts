/** What every prompt encoder does: a model's chat template, or its declared dialogue format. */
import type { HistoryTurn, PromptParts } from '../../types.js';

export type TurnText = Pick<HistoryTurn, 'role' | 'text'>;

/** A chat message as chat templates take them. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface EncodedPrompt {
  tokens: number[];
  /** What was kept of the parts after fitting the window. */
  kept: PromptParts;
}

export interface PromptEncoder {
  readonly kind: 'chat-template' | 'dialogue-format';
  /** `backward` models (MMI) read turns in reverse order: p(source | response). */
  readonly direction: 'forward' | 'backward';
  /**
   * Persona, knowledge and history followed by what makes the model write the bot's reply.
   * Drops the oldest history turns, then persona, then knowledge, then cuts the newest turn's text
   * from the left, so that the prompt plus `reserve` new tokens fits the context window.
   */
  encodeDialogue(parts: PromptParts, reserve: number): EncodedPrompt;
  /** Turns in the order given, without the reply prompt (scoring contexts). */
  encodeTurns(turns: TurnText[]): number[];
  /** Any conversation of chat messages (a judge prompt, a tool), optionally with the reply prompt. */
  encodeMessages(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): number[];
}
