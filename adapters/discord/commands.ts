/** The bot's command table as Discord slash commands. */
import { ApplicationCommandOptionType, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Command } from '../../core/index.js';

/** Discord's rules for command and option names. */
const NAME = /^[-_\p{Ll}\p{N}]{1,32}$/u;

export class SlashCommandNameError extends Error {
  constructor(name: string) {
    super(`Command "${name}" cannot be a Discord slash command: names must be 1-32 lowercase letters, digits, "-" or "_".`);
    this.name = 'SlashCommandNameError';
  }
}

/**
 * One slash command per entry of the table. Admin commands stay visible to everyone: admins may
 * be defined by a configured role, which Discord's `default_member_permissions` cannot express,
 * so the core refuses them for non-admins instead.
 */
export function slashCommands(commands: Iterable<Command>): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return [...commands].map((command) => {
    if (!NAME.test(command.name)) throw new SlashCommandNameError(command.name);
    const argument = command.argument;
    if (argument && !NAME.test(argument.name)) throw new SlashCommandNameError(`${command.name} ${argument.name}`);
    return {
      name: command.name,
      description: truncate(command.admin ? `${command.description} (admin)` : command.description, 100),
      options: argument
        ? [{ type: ApplicationCommandOptionType.String, name: argument.name, description: truncate(argument.description, 100), required: argument.required }]
        : [],
    };
  });
}

/** The text the core parses for a slash command invocation: `/name args`. */
export function commandText(name: string, argument: string | null | undefined): string {
  return argument ? `/${name} ${argument}` : `/${name}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
