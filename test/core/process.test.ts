/**
 * No request takes the process down: `banter start` (the compiled CLI, in a child process) runs the
 * Slack HTTP receiver and the web chat side by side; a signed Slack request with the body `null`,
 * an unhandled rejection and an exception thrown from a timer (by a plugin) are logged, and both
 * adapters keep answering.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileChildren, type CompiledChildren, type RunningChild } from '../helpers/children.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';
import { eventCallback, postSigned, slackTs, SlackStandIn } from '../adapters/standins/slack.js';
import { FrameClient } from '../web/support.js';

const CRASHING_PLUGIN = `
export default () => ({
  name: 'crashing',
  inspect(turn) {
    if (!turn.message.text.includes('#crash')) return;
    Promise.reject(new Error('a rejection nobody handles'));
    setTimeout(() => { throw new Error('an exception from a timer'); }, 0);
  },
});
`;

describe('banter start under faults', () => {
  let children: CompiledChildren;
  let dir: string;
  let standIn: SlackStandIn;
  let bot: RunningChild;
  let slackUrl: string;
  let socketUrl: string;

  beforeAll(async () => {
    children = compileChildren();
    dir = await mkdtemp(join(tmpdir(), 'banter-process-'));
    standIn = await SlackStandIn.start();
    await writeFile(join(dir, 'crashing.mjs'), CRASHING_PLUGIN);
    const slackPort = 30_000 + (process.pid % 20_000);
    const config = {
      engine: { model: FIXTURE_MODEL },
      decoding: { maxNewTokens: 8, numCandidates: 2 },
      log: { level: 'info' },
      plugins: { './crashing.mjs': {} },
      adapters: {
        web: { port: 0 },
        slack: { mode: 'http', botToken: '${SLACK_BOT_TOKEN}', signingSecret: '${SLACK_SIGNING_SECRET}', port: slackPort, host: '127.0.0.1', apiUrl: standIn.apiUrl },
      },
    };
    await writeFile(join(dir, 'bot.yaml'), stringify(config));
    bot = children.spawn('../../core/cli/main', ['start', '--config', join(dir, 'bot.yaml')], { SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: standIn.signingSecret });
    const announced = await bot.waitForLine((line) => line.startsWith('banter: web chat at '), 120_000);
    socketUrl = `${announced.replace('banter: web chat at ', '').replace('http://', 'ws://')}ws`;
    slackUrl = `http://127.0.0.1:${slackPort}/slack/events`;
  }, 180_000);

  afterAll(async () => {
    bot?.process.kill('SIGKILL');
    await standIn?.close();
    children?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('survives a signed Slack body of null, an unhandled rejection and an uncaught exception, with every adapter answering', async () => {
    expect((await postSigned(slackUrl, 'null', { secret: standIn.signingSecret })).status).toBe(400);

    const web = await FrameClient.open(socketUrl);
    web.send({ type: 'say', conversation: 'faults', text: 'please #crash' });
    await web.take('reply-end');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the timer's exception fires meanwhile
    web.send({ type: 'say', conversation: 'faults', text: 'are you still there?' });
    expect((await web.take('reply-end')).text).toBeTruthy();
    web.close();

    const event = eventCallback(standIn, { type: 'app_mention', channel: 'CALIVE', user: 'UALICE', text: `<@${standIn.botUserId}> still up?`, ts: slackTs() });
    expect((await postSigned(slackUrl, JSON.stringify(event), { secret: standIn.signingSecret })).status).toBe(200);
    await standIn.waitFor('the Slack reply', () => standIn.messagesIn('CALIVE').some((m) => m.versions.length === 2));

    expect(bot.process.exitCode).toBeNull();
    expect(bot.stderr()).toContain('unhandled promise rejection (the process keeps running)');
    expect(bot.stderr()).toContain('uncaught exception (the process keeps running)');
  });
});
