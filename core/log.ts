/** Logging through pino. Secrets never reach it: config values from the environment are redacted. */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string, options: { name?: string; destination?: number } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'banter',
      level,
      redact: { paths: ['*.token', '*.botToken', '*.appToken', '*.signingSecret', '*.accessToken', '*.apiKey', 'token', 'apiKey'], censor: '[secret]' },
    },
    pino.destination({ dest: options.destination ?? 2, sync: true }),
  );
}
