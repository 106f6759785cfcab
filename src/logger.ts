import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/schema.js';

export type { Logger };

/** JSON lines on stderr, so stdout stays free for the CLI's own output. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
