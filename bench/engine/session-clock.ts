/**
 * Times every onnxruntime `InferenceSession.run` in this process (banter's, transformers.js's and the
 * floor's sessions all come from the one onnxruntime-node module), so a run's wall time splits into
 * time in the runtime and the system's own work (tokenizer, sampling, cache handling, tensor building).
 */
import { InferenceSession } from 'onnxruntime-node';

export class SessionClock {
  milliseconds = 0;
  calls = 0;

  /** Wraps the prototype's `run` once per process; later sessions are timed too. */
  install(): void {
    // The exported value is the session class; its type only declares the `create` factory.
    const prototype = (InferenceSession as unknown as { prototype: { run: (...args: unknown[]) => Promise<unknown> } }).prototype;
    const original = prototype.run;
    const clock = this;
    prototype.run = async function timedRun(this: unknown, ...args: unknown[]) {
      const start = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        clock.milliseconds += performance.now() - start;
        clock.calls++;
      }
    };
  }

  reset(): void {
    this.milliseconds = 0;
    this.calls = 0;
  }
}
