/** A terminal chat: a REPL over stdin/stdout with the core's commands plus `/quit`. Reads piped input too. */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Adapter, BotHost, ConversationAddress, JSONSchema, Reply } from '../../core/index.js';

export interface TerminalConfig {
  /** Preset for this terminal's conversation (otherwise the routed one). */
  preset?: string;
  /** Conversation id, so separate terminals can keep separate histories. */
  channel: string;
  prompt: string;
}

export const configSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    preset: { type: 'string', description: 'Preset for the terminal conversation' },
    channel: { type: 'string', default: 'local', description: 'Conversation id of this terminal' },
    prompt: { type: 'string', default: 'you> ', description: 'Input prompt' },
  },
};

/** Citations as numbered footnotes under the reply. */
export function renderReply(reply: Reply): string {
  const notes = reply.citations.map((c, i) => `  [${i + 1}] ${c.title} <${c.url}>`);
  const marker = reply.kind === 'fallback' ? ' (fallback)' : '';
  return [`bot${marker}> ${reply.text}`, ...notes].join('\n');
}

export class TerminalAdapter implements Adapter<TerminalConfig> {
  readonly name = 'terminal';
  private resolveFinished!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.resolveFinished = resolve));
  private closeInput?: () => void;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  readonly configSchema = configSchema;

  async start(bot: BotHost, config: TerminalConfig): Promise<void> {
    const address: ConversationAddress = { platform: 'terminal', channel: config.channel ?? 'local' };
    const conversation = await bot.conversation(address);
    if (config.preset) {
      const preset = bot.presets.get(config.preset);
      if (!preset) throw new Error(`No preset named "${config.preset}" (have: ${bot.presets.list().map((p) => p.name).join(', ')})`);
      if (conversation.preset !== preset.name) {
        conversation.preset = preset.name;
        conversation.history = [];
        await bot.saveConversation(conversation);
      }
    }
    const preset = bot.presets.get(conversation.preset);
    const write = (text: string) => this.output.write(`${text}\n`);
    write(`banter: chatting as "${bot.name}" with preset ${conversation.preset}. /help for commands, /quit to leave.`);
    const greeting = preset?.greeting.findLast((t) => t.role === 'bot');
    if (greeting && conversation.history.length === 0) write(`bot> ${greeting.text}`);

    const isTTY = 'isTTY' in this.input && Boolean(this.input.isTTY);
    const lines = createInterface({ input: this.input, output: this.output, terminal: isTTY, historySize: 500 });
    this.closeInput = () => lines.close();
    lines.setPrompt(config.prompt ?? 'you> ');
    void (async () => {
      try {
        if (isTTY) lines.prompt();
        for await (const line of lines) {
          const text = line.trim();
          if (text === '/quit' || text === '/exit') break;
          if (text) {
            const reply = await bot.handle({ ...address, text, user: { id: 'local', name: 'you', isAdmin: true } });
            write(renderReply(reply));
          }
          if (isTTY) lines.prompt();
        }
      } catch (error) {
        bot.logger.error({ err: error }, 'terminal chat failed');
      } finally {
        lines.close();
        this.resolveFinished();
      }
    })();
  }

  async stop(): Promise<void> {
    this.closeInput?.();
  }
}

export default function createTerminalAdapter(): TerminalAdapter {
  return new TerminalAdapter();
}
