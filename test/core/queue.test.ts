import { describe, expect, it } from 'vitest';
import { KeyedSerialQueue, Semaphore } from '../../core/queue.js';
import { selectCandidate, weightedTotal } from '../../core/selection.js';
import { cleanText } from '../../core/text.js';
import { parseCommand, splitPersona } from '../../core/commands.js';
import type { Candidate } from '../../core/types.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedSerialQueue', () => {
  it('runs tasks of one key in order without overlap, and different keys concurrently', async () => {
    const queue = new KeyedSerialQueue();
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const task = (key: string, i: number) => async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`${key}${i}:start`);
      await tick();
      log.push(`${key}${i}:end`);
      running--;
      return i;
    };
    const results = await Promise.all([0, 1, 2].flatMap((i) => [queue.run('a', task('a', i)), queue.run('b', task('b', i))]));
    expect(results).toEqual([0, 0, 1, 1, 2, 2]);
    const a = log.filter((l) => l.startsWith('a'));
    expect(a).toEqual(['a0:start', 'a0:end', 'a1:start', 'a1:end', 'a2:start', 'a2:end']);
    expect(maxRunning).toBe(2);
    expect(queue.activeKeys).toBe(0);
  });

  it('keeps serving a key after a task fails', async () => {
    const queue = new KeyedSerialQueue();
    await expect(queue.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(queue.run('k', async () => 'next')).resolves.toBe('next');
  });
});

describe('Semaphore', () => {
  it('never lets more than `limit` tasks run at once', async () => {
    const slots = new Semaphore(3);
    let running = 0;
    let maxRunning = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        slots.use(async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await tick();
          running--;
        }),
      ),
    );
    expect(maxRunning).toBe(3);
  });

  it('serves urgent waiters first, in their order, then the others in theirs', async () => {
    const slots = new Semaphore(1);
    const order: string[] = [];
    let release!: () => void;
    const holder = slots.use(() => new Promise<void>((resolve) => (release = resolve)));
    const waiters = [
      slots.use(async () => void order.push('plain 1')),
      slots.use(async () => void order.push('urgent 1'), { urgent: true }),
      slots.use(async () => void order.push('plain 2')),
      slots.use(async () => void order.push('urgent 2'), { urgent: true }),
    ];
    release();
    await Promise.all([holder, ...waiters]);
    expect(order).toEqual(['urgent 1', 'urgent 2', 'plain 1', 'plain 2']);
  });

  it('rejects a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe('selection', () => {
  const candidate = (scores: Record<string, number>, rejected = false): Candidate => ({
    text: 'x',
    tokens: [],
    logprob: 0,
    avgLogprob: 0,
    scores,
    ...(rejected ? { rejected: { by: 't', reason: 'r' } } : {}),
  });

  it('sums weighted scores, counting a missing score as 0', () => {
    expect(weightedTotal({ a: 2, b: -1 }, { a: 0.5, b: 2, c: 10 })).toBe(-1);
  });

  it('picks the best surviving candidate; the earlier one on ties; -1 when none survive', () => {
    const candidates = [candidate({ q: 1 }), candidate({ q: 3 }, true), candidate({ q: 2 }), candidate({ q: 2 })];
    expect(selectCandidate(candidates, { q: 1 })).toBe(2);
    expect(candidates.map((c) => c.total)).toEqual([1, undefined, 2, 2]);
    expect(selectCandidate(candidates, { q: -1 })).toBe(0);
    expect(selectCandidate([candidate({ q: 1 }, true)], { q: 1 })).toBe(-1);
  });
});

describe('cleanText', () => {
  it('removes control and zero-width characters and repairs lone surrogates', () => {
    expect(cleanText('  he\u0000l\u200Blo\u0007\r\nthere\uFEFF ')).toBe('hello\nthere');
    expect(cleanText('bad \uD800 pair')).toBe('bad \uFFFD pair');
    expect(cleanText('\u0001\u0002\u200B')).toBe('');
  });
});

describe('commands', () => {
  it('parses commands and leaves other text alone', () => {
    expect(parseCommand('/preset  mount-everest ')).toEqual({ name: 'preset', args: 'mount-everest' });
    expect(parseCommand('/HELP')).toEqual({ name: 'help', args: '' });
    expect(parseCommand('hello /reset')).toBeUndefined();
    expect(parseCommand('/ nothing')).toBeUndefined();
  });

  it('splits persona text into lines', () => {
    expect(splitPersona('I love jazz. I live in Oslo!\nI have a cat | I cook')).toEqual(['I love jazz.', 'I live in Oslo!', 'I have a cat', 'I cook']);
  });
});
