/** The web adapter's pure parts: frame parsing, address and token checks, config defaults. */
import { describe, expect, it } from 'vitest';
import { hostHeaderName, isLoopbackAddress, isLoopbackHost, tokenMatches } from '../../adapters/web/access.js';
import { resolveWebConfig } from '../../adapters/web/config.js';
import { encodeServerFrame, parseClientFrame } from '../../adapters/web/protocol.js';
import type { TurnTrace } from '../../adapters/web/trace.js';

describe('parseClientFrame', () => {
  it('accepts the six frame types', () => {
    expect(parseClientFrame('{"type":"say","conversation":"a-1","text":"hi"}')).toEqual({ ok: true, frame: { type: 'say', conversation: 'a-1', text: 'hi' } });
    expect(parseClientFrame('{"type":"feedback","conversation":"a","turnId":"t-1","rating":"down","reason":"off topic"}')).toEqual({
      ok: true,
      frame: { type: 'feedback', conversation: 'a', turnId: 't-1', rating: 'down', reason: 'off topic' },
    });
    expect(parseClientFrame('{"type":"feedback","conversation":"a","turnId":"t-1","rating":"up","reason":""}')).toEqual({ ok: true, frame: { type: 'feedback', conversation: 'a', turnId: 't-1', rating: 'up' } });
    expect(parseClientFrame('{"type":"preset","conversation":"a","name":"mount-everest"}')).toEqual({ ok: true, frame: { type: 'preset', conversation: 'a', name: 'mount-everest' } });
    for (const type of ['join', 'leave', 'reset']) {
      expect(parseClientFrame(JSON.stringify({ type, conversation: 'c', extra: 1 }))).toEqual({ ok: true, frame: { type, conversation: 'c' } });
    }
  });

  it('says what is wrong with a bad frame', () => {
    const error = (raw: string) => {
      const result = parseClientFrame(raw);
      return result.ok ? undefined : result.error;
    };
    expect(error('')).toMatch(/Malformed JSON/);
    expect(error('null')).toMatch(/JSON object/);
    expect(error('"say"')).toMatch(/JSON object/);
    expect(error('{"type":"say"}')).toMatch(/"conversation"/);
    expect(error(`{"type":"join","conversation":"${'x'.repeat(65)}"}`)).toMatch(/1 to 64/);
    expect(error('{"type":"say","conversation":"c","text":7}')).toMatch(/non-empty "text"/);
    expect(error('{"type":"preset","conversation":"c","name":"../etc"}')).toMatch(/preset "name"/);
    expect(error('{"type":"__proto__","conversation":"c"}')).toMatch(/Unknown frame type/);
    expect(error('{"type":"feedback","conversation":"c","rating":"up"}')).toMatch(/"turnId"/);
    expect(error('{"type":"feedback","conversation":"c","turnId":"../x","rating":"up"}')).toMatch(/"turnId"/);
    expect(error('{"type":"feedback","conversation":"c","turnId":"t","rating":"meh"}')).toMatch(/"up" or "down"/);
    expect(error(`{"type":"feedback","conversation":"c","turnId":"t","rating":"up","reason":"${'x'.repeat(2001)}"}`)).toMatch(/at most 2000/);
  });
});

describe('encodeServerFrame', () => {
  it('keeps non-finite log-probs instead of turning them into null', () => {
    const candidate = { text: 'hi', tokenCount: 1, logprob: -Infinity, avgLogprob: Number.NaN, scores: { mmi: 0.5 } };
    const trace = {
      turnId: 't',
      preset: 'p',
      message: 'm',
      decoding: {} as TurnTrace['decoding'],
      prompt: { persona: [], knowledge: [], history: [] },
      promptTokenCount: 0,
      evidence: [],
      candidates: [candidate],
      chosen: 0,
      timings: [],
    } satisfies TurnTrace;
    const decoded = JSON.parse(encodeServerFrame({ type: 'trace', conversation: 'c', trace }));
    expect(decoded.trace.candidates[0]).toMatchObject({ logprob: '-Infinity', avgLogprob: 'NaN', scores: { mmi: 0.5 } });
  });
});

describe('access checks', () => {
  it('knows loopback addresses, including IPv4-mapped IPv6', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(address)).toBe(true);
    for (const address of ['10.0.0.1', '192.0.2.2', '::ffff:10.0.0.1', 'fd00::2', '128.0.0.1', '', undefined]) expect(isLoopbackAddress(address)).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('localhost.evil.example')).toBe(false);
  });

  it('reads the host name of a Host header', () => {
    expect(hostHeaderName('127.0.0.1:8787')).toBe('127.0.0.1');
    expect(hostHeaderName('[::1]:8787')).toBe('::1');
    expect(hostHeaderName('LocalHost')).toBe('localhost');
    expect(hostHeaderName(undefined)).toBeUndefined();
  });

  it('matches tokens exactly, whatever their lengths', () => {
    expect(tokenMatches('s3cret-token', 's3cret-token')).toBe(true);
    expect(tokenMatches('s3cret-tokeN', 's3cret-token')).toBe(false);
    expect(tokenMatches('s3cret', 's3cret-token')).toBe(false);
    expect(tokenMatches('', 's3cret-token')).toBe(false);
    expect(tokenMatches(null, 's3cret-token')).toBe(false);
  });
});

describe('resolveWebConfig', () => {
  it('defaults to loopback on 8787, loopback clients only', () => {
    expect(resolveWebConfig(undefined)).toEqual({
      port: 8787, host: '127.0.0.1', accessToken: undefined, maxFrameBytes: 65536, allowRemote: false, maxBufferedBytes: 1024 * 1024, shareConversations: false, stream: true, maxSocketsPerAddress: 32,
    });
  });

  it('allows remote clients when bound elsewhere, unless told not to', () => {
    expect(resolveWebConfig({ host: '0.0.0.0', accessToken: 'a-long-token' }).allowRemote).toBe(true);
    expect(resolveWebConfig({ host: '0.0.0.0', accessToken: 'a-long-token', allowRemote: false }).allowRemote).toBe(false);
    expect(resolveWebConfig({ host: 'localhost' }).allowRemote).toBe(false);
  });

  it('refuses values that cannot work', () => {
    expect(() => resolveWebConfig({ port: 70000 })).toThrow(/port must be an integer from 0 to 65535/);
    expect(() => resolveWebConfig({ maxFrameBytes: 10 })).toThrow(/at least 1024/);
    expect(() => resolveWebConfig({ maxSocketsPerAddress: -1 })).toThrow(/maxSocketsPerAddress must be a whole number/);
    expect(() => resolveWebConfig({ accessToken: 'abc' })).toThrow(/at least 8 characters/);
    expect(() => resolveWebConfig({ accessToken: 'abc' })).not.toThrow(/abc/);
    // Bound where other machines (or a rebound DNS name) can reach it, the chat needs a token.
    expect(() => resolveWebConfig({ host: '0.0.0.0' })).toThrow(/not a loopback address, so the chat needs an access token/);
    expect(() => resolveWebConfig({ host: '192.168.1.20', accessToken: '' })).toThrow(/needs an access token/);
  });
});
