/**
 * Validation replies recomputed from the raw Topical-Chat files with the trainer's split
 * (tools/data/dialogue_jsonl.py: sha1(id)[:8] as an integer, modulo 100, below 5), so the models are
 * measured on dialogues they were not trained on.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const dataRoot = path.resolve(process.env.BANTER_DATA ?? path.join('..', 'shared', 'data'));

const TOPICAL_CHAT_FILES = ['valid_freq', 'valid_rare', 'test_freq'];

/**
 * The datasets are not distributed with banter: tests that need them run where they are, and
 * always in CI (CI=true), where their absence fails with the message below.
 */
export const runDataTests = existsSync(path.join(dataRoot, 'dialogue', 'topical-chat')) || Boolean(process.env.CI);

export function isValidation(dialogueId: string): boolean {
  const digest = createHash('sha1').update(dialogueId, 'utf8').digest('hex');
  return parseInt(digest.slice(0, 8), 16) % 100 < 5;
}

export interface Exchange {
  dialogueId: string;
  /** The turns before the reply, oldest first; the last one is the user's. */
  history: { role: 'user' | 'bot'; text: string }[];
  reply: string;
}

interface TopicalChatMessage {
  message: string;
  agent: 'agent_1' | 'agent_2';
}

function clean(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * One exchange per validation dialogue: the first bot reply (agent_2) after at least `minHistory`
 * turns, with consecutive turns of one speaker merged as the converter does.
 */
export function topicalChatValidationExchanges(minHistory = 3, maxHistory = 6): Exchange[] {
  const base = path.join(dataRoot, 'dialogue', 'topical-chat');
  if (!existsSync(base)) {
    throw new Error(`Topical-Chat not found at ${base}: set BANTER_DATA to the shared data folder (see tools/data/README.md)`);
  }
  const exchanges: Exchange[] = [];
  for (const file of TOPICAL_CHAT_FILES) {
    const conversations = JSON.parse(readFileSync(path.join(base, `${file}.json`), 'utf8')) as Record<
      string,
      { content: TopicalChatMessage[] }
    >;
    for (const [conversationId, conversation] of Object.entries(conversations)) {
      const dialogueId = `topical-chat:${conversationId}`;
      if (!isValidation(dialogueId)) continue;
      const turns: { role: 'user' | 'bot'; text: string }[] = [];
      for (const message of conversation.content) {
        const role = message.agent === 'agent_1' ? 'user' : 'bot';
        const text = clean(message.message);
        if (!text) continue;
        const last = turns.at(-1);
        if (last && last.role === role) last.text += ` ${text}`;
        else turns.push({ role, text });
      }
      const index = turns.findIndex((turn, i) => i >= minHistory && turn.role === 'bot');
      if (index < 0) continue;
      exchanges.push({ dialogueId, history: turns.slice(Math.max(0, index - maxHistory), index), reply: turns[index].text });
    }
  }
  return exchanges;
}
