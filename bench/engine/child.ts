/** The harness's handle on one measuring child process: setups, runs on demand, finish. */
import { fork, type ChildProcess } from 'node:child_process';
import type { ChildMessage, ParentMessage, SetupRequest } from './protocol.js';

type Ran = Extract<ChildMessage, { type: 'ran' }>;

export class MeasuringChild {
  private pending: { resolve: (message: ChildMessage) => void; reject: (error: Error) => void } | undefined;
  private exited: Error | undefined;

  private constructor(
    private readonly process: ChildProcess,
    private readonly label: string,
  ) {
    process.on('message', (message: ChildMessage) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(message);
    });
    process.on('exit', (code, signal) => {
      this.exited = new Error(`${label}: the measuring process exited (code ${code}, signal ${signal}); its stderr is above`);
      this.pending?.reject(this.exited);
      this.pending = undefined;
    });
  }

  /** Starts a measuring process with no system set up yet. */
  static spawn(label: string): MeasuringChild {
    // Child stdout goes to our stderr: libraries' chatter must never mix into the JSON on stdout.
    const process = fork(new URL('./worker.js', import.meta.url), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    process.stdout!.pipe(globalThis.process.stderr);
    process.stderr!.pipe(globalThis.process.stderr);
    return new MeasuringChild(process, label);
  }

  /** Sets a system up in this process; returns the reason when it cannot run the workload. */
  async setup(setup: Omit<SetupRequest, 'type'>): Promise<{ unsupported: string } | undefined> {
    const answer = await this.ask({ type: 'setup', ...setup });
    return answer.type === 'unsupported' ? { unsupported: answer.reason } : undefined;
  }

  async run(system: SetupRequest['system'], seed: number): Promise<Ran> {
    const answer = await this.ask({ type: 'run', system, seed });
    if (answer.type !== 'ran') throw new Error(`${this.label}: expected a run's figures, got "${answer.type}"`);
    return answer;
  }

  /** Disposes the system and ends the process; returns its peak RSS in MB. */
  async finish(): Promise<number> {
    const answer = await this.ask({ type: 'finish' });
    if (answer.type !== 'finished') throw new Error(`${this.label}: expected "finished", got "${answer.type}"`);
    return answer.peakRssMb;
  }

  /** Ends the process at once (after a failure elsewhere). */
  kill(): void {
    if (!this.exited) this.process.kill();
  }

  private ask(message: ParentMessage): Promise<ChildMessage> {
    if (this.exited) return Promise.reject(this.exited);
    if (this.pending) return Promise.reject(new Error(`${this.label}: one request at a time`));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.process.send(message);
    });
  }
}
