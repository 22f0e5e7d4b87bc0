// Structured logging: JSON lines (pino) on stderr, human-readable when stderr is a TTY.
// Secrets are redacted by key name so a webhook URL or API key never reaches a log.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Keys whose values are never logged, at any depth we know of. */
export const REDACT_PATHS = [
  'url', '*.url', '*.*.url', 'secret', '*.secret', '*.*.secret', 'token', '*.token', '*.*.token',
  'access_key', '*.access_key', '*.*.access_key', 'accessKey', '*.accessKey', 'password', '*.password',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
];

export interface LoggerOptions {
  level?: string;
  /** Force pretty (true) or JSON (false) output; default: pretty when stderr is a TTY. */
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.BRAINSTEM_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  const redact = { paths: REDACT_PATHS, censor: '[redacted]' };
  if (pretty) {
    return pino({
      level, redact, base: undefined,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:standard' } },
    });
  }
  return pino({ level, redact, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing: for pure tests and one-shot commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
