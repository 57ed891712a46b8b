/** Why a model folder cannot be given a slot-cache graph, in words a user can act on. */
export class OptimizeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OptimizeError';
  }
}
