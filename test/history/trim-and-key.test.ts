import { describe, expect, test } from 'vitest';
import { conversationKey } from '../../core/history/key.js';
import { trimHistory } from '../../core/history/trim.js';
import type { HistoryTurn } from '../../core/types.js';

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const turn = (text: string, index: number): HistoryTurn => ({ role: index % 2 === 0 ? 'user' : 'bot', text, at: index });

describe('trimHistory', () => {
  const turns = ['one', 'two two', 'three three three', 'four four four four', 'five five five five five'].map(turn);

  test('keeps the newest turns within maxTurns', () => {
    expect(trimHistory(turns, { maxTurns: 2, maxTokens: 1000, countTokens: words }).map((t) => t.at)).toEqual([3, 4]);
  });

  test('keeps the newest turns within maxTokens, dropping the oldest first', () => {
    // 5 + 4 = 9 fits in 11; adding 3 would make 12.
    expect(trimHistory(turns, { maxTurns: 100, maxTokens: 11, countTokens: words }).map((t) => t.at)).toEqual([3, 4]);
    expect(trimHistory(turns, { maxTurns: 100, maxTokens: 12, countTokens: words }).map((t) => t.at)).toEqual([2, 3, 4]);
  });

  test('a gap does not let an older short turn back in', () => {
    const gapped = ['a', 'b b b b b b b b b b', 'c'].map(turn);
    expect(trimHistory(gapped, { maxTurns: 10, maxTokens: 3, countTokens: words }).map((t) => t.text)).toEqual(['c']);
  });

  test('never exceeds maxTokens, even when the newest turn alone is too long', () => {
    expect(trimHistory(turns, { maxTurns: 10, maxTokens: 4, countTokens: words })).toEqual([]);
  });

  test('everything fits: a copy of all turns, the input untouched', () => {
    const copy = structuredClone(turns);
    const kept = trimHistory(turns, { maxTurns: 5, maxTokens: 15, countTokens: words });
    expect(kept).toEqual(turns);
    expect(kept).not.toBe(turns);
    expect(turns).toEqual(copy);
  });
});

describe('conversationKey', () => {
  test('platform:channel[:thread]', () => {
    expect(conversationKey({ platform: 'discord', channel: '123' })).toBe('discord:123');
    expect(conversationKey({ platform: 'slack', channel: 'C1', thread: '1700000000.0001' })).toBe('slack:C1:1700000000.0001');
  });

  test('a channel id holding ":" cannot collide with a channel plus a thread', () => {
    const withColon = conversationKey({ platform: 'web', channel: 'a:b' });
    const withThread = conversationKey({ platform: 'web', channel: 'a', thread: 'b' });
    expect(withColon).not.toBe(withThread);
    expect(withColon).toBe('web:a%3Ab');
    // The escape character itself is escaped, so an id that looks escaped stays distinct.
    expect(conversationKey({ platform: 'web', channel: 'a%3Ab' })).toBe('web:a%253Ab');
  });
});
