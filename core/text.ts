/** Cleaning of user text before anything else sees it. */

// C0/C1 controls except tab and newline, and zero-width / bidi formatting characters.
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/g;

/**
 * Makes text safe to process: lone UTF-16 surrogates become U+FFFD, control and invisible
 * characters are removed, carriage returns become newlines, surrounding space is trimmed.
 */
export function cleanText(text: string): string {
  return text.toWellFormed().replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(INVISIBLE, '').trim();
}
