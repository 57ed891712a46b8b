/**
 * Who may use the web chat. Loopback-only by default; an optional access token; and, because any
 * page the user visits can open a WebSocket to localhost, same-origin and Host checks against
 * cross-site WebSocket hijacking and DNS rebinding.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** A configured bind host that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || isLoopbackAddress(bare);
}

/** A socket's remote address (IPv4, IPv6, or IPv4-mapped IPv6) that belongs to this machine's loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.toLowerCase().replace(/^::ffff:/, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** The hostname of a `Host` header, without port or IPv6 brackets. */
export function hostHeaderName(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader);
  if (bracketed) return bracketed[1].toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

/** Compares a presented token with the expected one in constant time (hashing equalizes lengths). */
export function tokenMatches(presented: string | null | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface AccessPolicy {
  allowRemote: boolean;
  accessToken?: string;
}

export type AccessDecision = { ok: true } | { ok: false; status: 401 | 403 | 429; reason: string };

/**
 * Checks a request (page load or WebSocket upgrade). `needsToken` is false for the static assets,
 * which hold no data; the page itself and the socket need the token when one is configured.
 */
export function checkAccess(request: IncomingMessage, policy: AccessPolicy, needsToken: boolean): AccessDecision {
  if (!policy.allowRemote) {
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      return { ok: false, status: 403, reason: 'This chat only accepts connections from this machine (set adapters.web.host to expose it).' };
    }
    // A loopback-only server is only ever addressed by a loopback name; anything else is DNS rebinding.
    const hostName = hostHeaderName(request.headers.host);
    if (!hostName || !isLoopbackHost(hostName)) {
      return { ok: false, status: 403, reason: 'Unexpected Host header for a loopback-only server.' };
    }
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !originMatchesHost(origin, request.headers.host)) {
    return { ok: false, status: 403, reason: 'Cross-origin requests are refused.' };
  }
  if (needsToken && policy.accessToken !== undefined) {
    if (!tokenMatches(requestUrl(request)?.searchParams.get('token'), policy.accessToken)) {
      return { ok: false, status: 401, reason: 'This chat needs its access token: open it with ?token=YOUR_TOKEN.' };
    }
  }
  return { ok: true };
}

/** The request's path and query, or undefined when the request line holds no parsable URL. */
export function requestUrl(request: IncomingMessage): URL | undefined {
  // Only the path and query are used; the base is a placeholder for the relative request target.
  return URL.canParse(request.url ?? '/', 'http://request.invalid') ? new URL(request.url ?? '/', 'http://request.invalid') : undefined;
}

function originMatchesHost(origin: string, hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  try {
    return new URL(origin).host.toLowerCase() === hostHeader.toLowerCase();
  } catch {
    return false; // `null` or garbage origins (sandboxed frames, file://) are not this page.
  }
}
