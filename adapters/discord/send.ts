/**
 * Sends that are safe to retry. Each message carries a `nonce` with `enforceNonce`, so Discord
 * returns the message it already created instead of posting a second one when a retry follows a
 * send whose answer was lost (a 502 after the message was created). discord.js retries 5xx and
 * network failures itself; this adds rounds with pauses, with the same nonce, for longer outages.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { DiscordAPIError, HTTPError } from 'discord.js';

/** Pauses between rounds of attempts (each round is discord.js's own request and its retries). */
export const SEND_RETRY_DELAYS_MS = [500, 2_000];

/** A Discord nonce: at most 25 characters, unique per message sent. */
export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

/** Runs `send(nonce)` until it succeeds, a failure is not worth retrying, or the rounds run out. */
export async function sendWithRetries<T>(send: (nonce: string) => Promise<T>, delaysMs: readonly number[] = SEND_RETRY_DELAYS_MS): Promise<T> {
  const nonce = newNonce();
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(nonce);
    } catch (error) {
      if (attempt >= delaysMs.length || !isTransient(error)) throw error;
      await delay(delaysMs[attempt]);
    }
  }
}

/** Server errors and failures without an answer may pass; 4xx (missing access, bad request) will not. */
function isTransient(error: unknown): boolean {
  if (error instanceof DiscordAPIError || error instanceof HTTPError) return error.status >= 500;
  return error instanceof Error;
}
