import { describe, expect, test } from 'vitest';
import { Admission, Burst, DEFAULT_ADMISSION, mergeAdmission, MemoryAdmissionState, type AdmissionConfig } from '../../core/admission/index.js';
import { loadConfig } from '../../core/config/load.js';

const subject = (conversation: string, user = 'u1', channel = 'c1') => ({ conversation, user, channel });
const config = (over: Partial<AdmissionConfig>): AdmissionConfig => ({ ...DEFAULT_ADMISSION, ...over });

describe('Admission caps', () => {
  test('refuses beyond the per-conversation cap with the busy text, and admits again once released', async () => {
    const admission = new Admission(new MemoryAdmissionState(), 'bot');
    const cfg = config({ maxPerConversation: 2 });
    const first = await admission.admit(subject('a'), cfg);
    const second = await admission.admit(subject('a'), cfg);
    const third = await admission.admit(subject('a'), cfg);
    expect([first.admitted, second.admitted]).toEqual([true, true]);
    expect(third).toEqual({ admitted: false, refusal: { reason: 'conversation', text: DEFAULT_ADMISSION.busyText } });
    expect((await admission.admit(subject('b'), cfg)).admitted).toBe(true);
    if (first.admitted) await first.release();
    expect((await admission.admit(subject('a'), cfg)).admitted).toBe(true);
  });

  test('counts a user across conversations, and everything overall', async () => {
    const admission = new Admission(new MemoryAdmissionState(), 'bot');
    const perUser = config({ maxPerConversation: 0, maxPerUser: 1, maxTotal: 0 });
    expect((await admission.admit(subject('a'), perUser)).admitted).toBe(true);
    expect(await admission.admit(subject('b'), perUser)).toMatchObject({ admitted: false, refusal: { reason: 'user' } });
    expect((await admission.admit(subject('b', 'u2'), perUser)).admitted).toBe(true);
    const total = config({ maxPerConversation: 0, maxPerUser: 0, maxTotal: 1, policy: 'drop' });
    const other = new Admission(new MemoryAdmissionState(), 'bot');
    expect((await other.admit(subject('a'), total)).admitted).toBe(true);
    expect(await other.admit(subject('z', 'u9'), total)).toEqual({ admitted: false, refusal: { reason: 'total', text: undefined } });
  });

  test('a refused message holds no count, and keys are namespaced by bot id', async () => {
    const state = new MemoryAdmissionState();
    const cfg = config({ maxPerConversation: 1 });
    const one = new Admission(state, 'one');
    expect((await one.admit(subject('a'), cfg)).admitted).toBe(true);
    for (let i = 0; i < 3; i++) expect((await one.admit(subject('a'), cfg)).admitted).toBe(false);
    expect((await new Admission(state, 'two').admit(subject('a'), cfg)).admitted).toBe(true);
    expect(await state.add('banter:one:wait:conv:a', 0, 1_000)).toBe(1);
  });
});

describe('Admission rate limits', () => {
  test('per-user and per-channel token buckets refuse politely and refill with the clock', async () => {
    let now = 0;
    const admission = new Admission(new MemoryAdmissionState(() => now), 'bot');
    const cfg = config({ userRate: { capacity: 2, perSecond: 1 }, channelRate: { capacity: 0, perSecond: 1 } });
    const release = async (a: Awaited<ReturnType<Admission['admit']>>) => (a.admitted ? a.release() : undefined);
    await release(await admission.admit(subject('a'), cfg));
    await release(await admission.admit(subject('a'), cfg));
    expect(await admission.admit(subject('a'), cfg)).toEqual({ admitted: false, refusal: { reason: 'rate', text: DEFAULT_ADMISSION.rateLimitedText } });
    now = 1_000;
    expect((await admission.admit(subject('a'), cfg)).admitted).toBe(true);
    const channel = config({ channelRate: { capacity: 1, perSecond: 1 } });
    const fresh = new Admission(new MemoryAdmissionState(() => now), 'bot');
    await release(await fresh.admit(subject('a', 'u1', 'room'), channel));
    expect(await fresh.admit(subject('b', 'u2', 'room'), channel)).toMatchObject({ admitted: false, refusal: { reason: 'rate' } });
  });
});

describe('MemoryAdmissionState', () => {
  test('expired counters and refilled buckets are swept, so memory stays bounded', async () => {
    let now = 0;
    const state = new MemoryAdmissionState(() => now);
    for (let i = 0; i < 500; i++) {
      await state.add(`c${i}`, 1, 1_000);
      await state.take(`b${i}`, 5, 10);
    }
    expect(state.size).toBe(1_000);
    now = 2_000;
    await state.take('fresh', 5, 10); // the 1,001st operation is after a sweep at the 1,000th; sweep again:
    for (let i = 0; i < 999; i++) await state.add('tick', 0, 1_000);
    expect(state.size).toBe(1);
    expect(await state.add('c1', 1, 1_000)).toBe(1);
  });
});

test('the config schema defaults are DEFAULT_ADMISSION', async () => {
  expect((await loadConfig(undefined, { env: {} })).config.admission).toEqual(DEFAULT_ADMISSION);
});

test("a preset's overrides merge over the bot's field by field, nested sections too", () => {
  const merged = mergeAdmission(DEFAULT_ADMISSION, { maxPerUser: 2, userRate: { capacity: 3 }, debounce: { windowMs: 400 } });
  expect(merged).toEqual({ ...DEFAULT_ADMISSION, maxPerUser: 2, userRate: { capacity: 3, perSecond: 1 }, debounce: { windowMs: 400, maxMessages: 5 } });
  expect(mergeAdmission(DEFAULT_ADMISSION, undefined)).toBe(DEFAULT_ADMISSION);
});

describe('Burst', () => {
  const entry = (text: string) => ({ text });

  test('takes messages up to maxMessages and maxLength, and nothing once sealed or closed', async () => {
    const burst = new Burst(entry('hello'), { windowMs: 60_000, maxMessages: 3, maxLength: 12 });
    expect(burst.offer(entry('there'))).toBe(true); // "hello\nthere": 11 characters
    expect(burst.offer(entry('x'))).toBe(false); // 13 > 12
    const sealed = new Burst(entry('a'), { windowMs: 60_000, maxMessages: 3, maxLength: 100 });
    sealed.seal();
    expect(sealed.offer(entry('b'))).toBe(false);
    // Sealed, it closes without waiting for its window.
    expect((await sealed.close()).map((e) => e.text)).toEqual(['a']);
    const full = new Burst(entry('1'), { windowMs: 60_000, maxMessages: 2, maxLength: 100 });
    const closing = full.close();
    expect(full.offer(entry('2'))).toBe(true);
    expect((await closing).map((e) => e.text)).toEqual(['1', '2']);
    expect(full.offer(entry('3'))).toBe(false);
  });

  test('closes once its window passes without a new message', async () => {
    let now = 0;
    const burst = new Burst(entry('only'), { windowMs: 5, maxMessages: 5, maxLength: 100 }, () => now);
    now = 10;
    expect((await burst.close()).map((e) => e.text)).toEqual(['only']);
    expect(burst.offer(entry('late'))).toBe(false);
  });
});
