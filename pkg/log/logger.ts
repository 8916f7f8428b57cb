// orlojd's logger: JSON lines, or pino-pretty's readable lines on a terminal. pino-pretty is
// loaded only when it is used.
import { pino, type Logger } from 'pino';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Without a format: pretty when stdout is a terminal, JSON otherwise. */
export async function createLogger(level: string, format?: LogFormat): Promise<Logger> {
  const opts = { level, base: { svc: 'orlojd' } };
  if ((format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'json') return pino(opts);
  const { prettyFactory } = await import('pino-pretty');
  const prettify = prettyFactory({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,svc', singleLine: true });
  // Written synchronously: what is logged right before the process exits is not lost.
  const out = pino.destination({ dest: 1, sync: true });
  return pino(opts, { write: (line: string) => void out.write(prettify(line)) });
}
