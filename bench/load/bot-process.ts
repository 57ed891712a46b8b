/** The driver's handle on one bot process (bench/load/bot.ts). */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { BotMessage, DriverMessage } from './protocol.js';

type Phase = Extract<BotMessage, { type: 'phase' }>;

export class BotProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly socketUrl: string,
  ) {}

  /** Starts a bot with `maxConcurrentGenerations` engine calls in flight (and config `sections` merged in); resolves when its web chat listens. */
  static async start(maxConcurrentGenerations: number, sections?: Record<string, object>): Promise<BotProcess> {
    // The bot's stdout goes to our stderr: only the report belongs on stdout.
    const args = [String(maxConcurrentGenerations), ...(sections ? [JSON.stringify(sections)] : [])];
    const child = fork(new URL('./bot.js', import.meta.url), args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout!.pipe(process.stderr);
    child.stderr!.pipe(process.stderr);
    const ready = await new Promise<BotMessage>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the bot process exited (code ${code}) before it was ready; its stderr is above`)));
    });
    if (ready.type !== 'ready') throw new Error(`the bot process said "${ready.type}" before it was ready`);
    return new BotProcess(child, ready.socketUrl);
  }

  /** Runs `work` as a measured phase and returns what the bot process saw meanwhile. */
  async measure<T>(work: () => Promise<T>): Promise<{ result: T; phase: Phase }> {
    this.tell({ type: 'begin' });
    const result = await work();
    const answer = once(this.child, 'message') as Promise<[Phase]>;
    this.tell({ type: 'end' });
    const [phase] = await answer;
    return { result, phase };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    await exited;
  }

  private tell(message: DriverMessage): void {
    this.child.send(message);
  }
}
