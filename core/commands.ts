/** The command table shared by every adapter: terminal and web type them, Discord and Slack register them as slash commands. */
import type { Command, CommandContext } from './types.js';

/** Splits `/name rest of line` into its parts, or undefined when the text is not a command. */
export function parseCommand(text: string): { name: string; args: string } | undefined {
  const match = /^\/([a-z][a-z0-9_-]*)(?:\s+([\s\S]*))?$/i.exec(text.trim());
  return match ? { name: match[1].toLowerCase(), args: (match[2] ?? '').trim() } : undefined;
}

/** Persona text from a command: one line per sentence or line, so each can be checked on its own. */
export function splitPersona(text: string): string[] {
  return text
    .split(/\n|(?<=[.!?])\s+|\s*\|\s*/)
    .map((line) => line.trim())
    .filter(Boolean);
}

const help: Command = {
  name: 'help',
  description: 'List the commands',
  run: ({ bot }) =>
    [...bot.commands.values()]
      .map((c) => `/${c.name}${c.argument ? ` ${c.argument.required ? c.argument.name : `[${c.argument.name}]`}` : ''} - ${c.description}${c.admin ? ' (admin)' : ''}`)
      .join('\n'),
};

const reset: Command = {
  name: 'reset',
  description: 'Forget this conversation\'s history',
  async run({ bot, conversation }) {
    conversation.history = [];
    await bot.saveConversation(conversation);
    return 'History cleared. Let\'s start over.';
  },
};

const preset: Command = {
  name: 'preset',
  description: 'Show the presets, or switch this conversation to one (clears its history)',
  admin: true,
  argument: { name: 'name', description: 'Preset to use', required: false },
  async run({ bot, conversation, args }) {
    if (!args) {
      const names = bot.presets.list().map((p) => (p.name === conversation.preset ? `${p.name} (current)` : p.name));
      return `Presets: ${names.join(', ')}`;
    }
    const chosen = bot.presets.get(args);
    if (!chosen) return `No preset named "${args}". Presets: ${bot.presets.list().map((p) => p.name).join(', ')}`;
    conversation.preset = chosen.name;
    conversation.history = [];
    delete conversation.persona;
    await bot.saveConversation(conversation);
    const about = chosen.description ? `: ${chosen.description.replace(/[.!?]$/, '')}` : '';
    return `Preset set to ${chosen.name}${about}.`;
  },
};

const persona: Command = {
  name: 'persona',
  description: 'Show the persona, set it for this conversation, or `/persona reset` to use the preset\'s',
  admin: true,
  argument: { name: 'text', description: 'Persona sentences', required: false },
  async run({ bot, conversation, args }: CommandContext) {
    if (!args) {
      const lines = conversation.persona ?? bot.presets.get(conversation.preset)?.persona ?? [];
      return lines.length ? `Persona:\n${lines.map((l) => `- ${l}`).join('\n')}` : 'No persona set.';
    }
    if (args.toLowerCase() === 'reset') delete conversation.persona;
    else conversation.persona = splitPersona(args);
    await bot.saveConversation(conversation);
    return conversation.persona ? `Persona set (${conversation.persona.length} line(s)).` : 'Persona reset to the preset\'s.';
  },
};

export function builtinCommands(): Command[] {
  return [help, reset, preset, persona];
}
