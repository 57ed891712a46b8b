/** The adapters' pure parts: message splitting and formatting, retry dedupe, slash command tables, config schemas. */
import { describe, expect, it } from 'vitest';
import { slashCommands, SlashCommandNameError } from '../../adapters/discord/commands.js';
import { discordConfigSchema, resolveDiscordConfig } from '../../adapters/discord/config.js';
import { formatReply as discordReply } from '../../adapters/discord/format.js';
import { resolveSlackConfig, slackConfigSchema } from '../../adapters/slack/config.js';
import { RecentIds } from '../../adapters/slack/dedupe.js';
import { formatReply as slackReply, incomingText } from '../../adapters/slack/format.js';
import { splitMessage } from '../../core/adapter-kit/index.js';
import { builtinCommands } from '../../core/commands.js';
import { validatePluginConfig } from '../../core/config/schema.js';

describe('splitMessage', () => {
  it('keeps a short text whole', () => {
    expect(splitMessage('Hello there. How are you?', 2000)).toEqual(['Hello there. How are you?']);
  });

  it('cuts after the last sentence that fits', () => {
    expect(splitMessage('One two three. Four five six. Seven eight nine.', 32)).toEqual(['One two three. Four five six.', 'Seven eight nine.']);
    expect(splitMessage('Is it? Yes! It is "done." Next one here.', 26)).toEqual(['Is it? Yes! It is "done."', 'Next one here.']);
  });

  it('prefers a line break, then a space, and cuts a word only when nothing else fits', () => {
    expect(splitMessage('first line without stop\nsecond line', 30)).toEqual(['first line without stop', 'second line']);
    expect(splitMessage('a sentence that runs on and on', 12)).toEqual(['a sentence', 'that runs on', 'and on']);
    expect(splitMessage('abcdefghijklmnopqrstuvwxyz', 10)).toEqual(['abcdefghij', 'klmnopqrst', 'uvwxyz']);
  });

  it('never exceeds the limit and loses no words', () => {
    const text = Array.from({ length: 300 }, (_, i) => `Word${i}${i % 7 === 6 ? '.' : ''}`).join(' ');
    const pieces = splitMessage(text, 100);
    expect(pieces.every((p) => p.length <= 100 && p.length > 0)).toBe(true);
    expect(pieces.join(' ')).toBe(text);
  });
});

describe('reply formatting', () => {
  const reply = { text: 'Everest is 8,849 m tall <really>.', kind: 'model' as const, citations: [{ title: 'Mount [Everest] | facts', url: 'https://example.org/everest?a=1|2' }] };

  it('Discord: citations as masked markdown links that do not unfurl', () => {
    expect(discordReply(reply)).toBe('Everest is 8,849 m tall <really>.\n\nSources: [Mount Everest | facts](<https://example.org/everest?a=1|2>)');
    expect(discordReply({ ...reply, citations: [] })).toBe(reply.text);
  });

  it('Slack: text escaped for mrkdwn, citations as <url|title>', () => {
    expect(slackReply(reply)).toBe('Everest is 8,849 m tall &lt;really&gt;.\n\nSources: <https://example.org/everest?a=1%7C2|Mount [Everest] / facts>');
  });

  it('Slack: the bot mention is removed from incoming text and escapes undone', () => {
    expect(incomingText('<@UBOT> is 1 &lt; 2 &amp;&amp; <@UOTHER>?', 'UBOT').trim()).toBe('is 1 < 2 && <@UOTHER>?');
    expect(incomingText('<@UBOT|banter> hi', 'UBOT').trim()).toBe('hi');
  });
});

describe('RecentIds', () => {
  it('accepts an id once and forgets the oldest beyond its capacity', () => {
    const ids = new RecentIds(2);
    expect([ids.add('a'), ids.add('a'), ids.add('b'), ids.add('c'), ids.add('a'), ids.add('c')]).toEqual([true, false, true, true, true, false]);
  });
});

describe('slash commands from the command table', () => {
  it('registers every command with its argument as a string option', () => {
    const table = slashCommands(builtinCommands());
    expect(table.map((c) => c.name)).toEqual(builtinCommands().map((c) => c.name));
    expect(table.find((c) => c.name === 'preset')).toMatchObject({ description: expect.stringMatching(/\(admin\)$/), options: [{ type: 3, name: 'name', required: false }] });
    expect(table.find((c) => c.name === 'help')?.options).toEqual([]);
  });

  it('rejects a name Discord would refuse', () => {
    expect(() => slashCommands([{ name: 'Bad Name', description: 'x', run: () => '' }])).toThrow(SlashCommandNameError);
  });
});

describe('adapter config schemas', () => {
  const where = { file: 'bot.yaml', path: '/adapters/x' };

  it('Discord: defaults applied by core validation; bad values rejected with their path', () => {
    const config = validatePluginConfig<Record<string, unknown>>('adapters/discord', discordConfigSchema, { token: 'abc' }, where);
    expect(config).toMatchObject({ token: 'abc', dms: true, adminPermission: 'ManageGuild', typingIntervalMs: 8000, api: 'https://discord.com/api' });
    expect(() => validatePluginConfig('adapters/discord', discordConfigSchema, { token: 'abc', adminPermission: 'BeCool' }, where)).toThrow(/adminPermission/);
    expect(() => validatePluginConfig('adapters/discord', discordConfigSchema, { token: 'abc', shards: [0] }, where)).toThrow(/shardCount/);
  });

  it('Slack: the secret each mode needs is required, the other may be empty', () => {
    expect(validatePluginConfig('adapters/slack', slackConfigSchema, { botToken: 'xoxb', signingSecret: 's', appToken: '' }, where)).toMatchObject({ mode: 'http', port: 3000, path: '/slack/events' });
    expect(() => validatePluginConfig('adapters/slack', slackConfigSchema, { signingSecret: 's' }, where)).toThrow(/botToken/);
    expect(() => resolveSlackConfig({ botToken: 'xoxb', mode: 'socket', signingSecret: 's', appToken: '' })).toThrow(/SLACK_APP_TOKEN/);
    expect(() => resolveSlackConfig({ botToken: 'xoxb', mode: 'http', signingSecret: '', appToken: 'xapp' })).toThrow(/SLACK_SIGNING_SECRET/);
    expect(resolveSlackConfig({ botToken: 'xoxb', mode: 'socket', signingSecret: '', appToken: 'xapp' }).mode).toBe('socket');
  });

  it('refuse to start on an unresolved secret, naming the environment variable', () => {
    expect(() => resolveDiscordConfig({ token: '${DISCORD_TOKEN}' })).toThrow(/DISCORD_TOKEN/);
    expect(() => resolveDiscordConfig({ token: 't', shards: [2], shardCount: 2 })).toThrow(/shardCount/);
    expect(() => resolveSlackConfig({ botToken: '' })).toThrow(/SLACK_BOT_TOKEN/);
    expect(() => resolveSlackConfig({ botToken: 'x', mode: 'socket' })).toThrow(/SLACK_APP_TOKEN/);
  });
});
