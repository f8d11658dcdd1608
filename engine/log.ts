// Logs: JSON lines when stderr is not a terminal (pods, CI), a short human form when it is.
// Secrets never reach a log: connection settings are logged without passwords, and the common
// secret-bearing keys are redacted anyway as a second line of defence.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(
  bindings: Record<string, unknown> = {},
  level = process.env['FERRY_LOG_LEVEL'] ?? 'info',
): Logger {
  const pretty = process.stderr.isTTY && !process.env['FERRY_LOG_JSON'];
  return pino(
    {
      level,
      base: bindings,
      redact: {
        paths: ['password', '*.password', 'connectionString', '*.connectionString', 'url'],
        censor: '[redacted]',
      },
      formatters: pretty ? { bindings: () => ({}) } : undefined,
      timestamp: pretty ? false : pino.stdTimeFunctions.isoTime,
    },
    pretty ? humanStream() : pino.destination(2),
  );
}

function humanStream() {
  return {
    write(line: string) {
      const { level, msg, ...rest } = JSON.parse(line) as { level: number; msg: string };
      const tag = level >= 50 ? 'error' : level >= 40 ? 'warn ' : level >= 30 ? 'info ' : 'debug';
      const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      process.stderr.write(`${tag} ${msg}${extra}\n`);
    },
  };
}

export const silentLogger: Logger = pino({ level: 'silent' });
