// A program that tests the brevity plugin with banter/testing: a real bot on the tiny fixture model and
// a real logger (JSON lines on stdout), two conversations, the second routed to the user's preset "short".
import { createLogger } from 'banter';
import { createTestBot, fixtureModel } from 'banter/testing';

const bot = await createTestBot(
  { plugins: { './brevity.js': { ideal: 4 } }, presets: { dirs: ['presets'], routes: { 'p:b': 'short' } }, decoding: { numCandidates: 3, maxNewTokens: 8 } },
  { logger: createLogger('info', { destination: 1 }), model: fixtureModel() },
);
bot.events.on('candidates', ({ turn }) => console.log(JSON.stringify({ brevity: turn.candidates.map((c) => c.scores.brevity) })));
await bot.handle({ platform: 'p', channel: 'a', user: { id: 'u' }, text: 'Hi!' });
await bot.handle({ platform: 'p', channel: 'b', user: { id: 'u' }, text: 'Hi!' });
await bot.stop();
