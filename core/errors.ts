/**
 * The one base of banter's errors: a stable machine-readable `code` beside a message a user can act
 * on, so that callers (adapters, embedding programs, tests) branch on codes, not on message text.
 */
export class BanterError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
