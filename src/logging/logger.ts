// Structured logging (pino) with secrets redacted, plus a hub that keeps the last lines and lets
// adapters (the NestMTX `log` event, the web panel) follow the stream.
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';

/** One log line as the NestMTX `log` event carries it. */
export interface LogEntry {
  hostname: string;
  /** NestMTX numbering: 20 trace, 30 debug, 40 info, 50 warn, 60 error, 70 fatal. */
  level: number;
  msg: string;
  pid: number;
  service: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** ISO 8601. */
  timestamp: string;
}

/** pino counts 10 trace … 60 fatal; the NestMTX document counts 20 trace … 70 fatal. */
export const toNestLevel = (pinoLevel: number): number => pinoLevel + 10;
/** Back to pino's count, for clients written against the original NestMTX code (nestmtx.log_levels: pino). */
export const toPinoLevel = (nestLevel: number): number => nestLevel - 10;

/** Keys that hold a secret wherever they appear. `code` is not one: errnos (`EADDRINUSE`) use it. */
const SECRET_KEYS = [
  'password', 'current_password', 'new_password', 'token', 'bearer', 'secret', 'client_secret', 'access_token',
  'refresh_token', 'authorization', 'Authorization', 'key', 'api_key', 'cookie',
];
/** Secrets named by their path: an OAuth authorization code is one only where it is one. */
const SECRET_PATHS = ['query.code', 'callback.code', 'req.query.code', 'oauth.code'];
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_PATHS,
  'req.headers.authorization',
  'req.headers.cookie',
];

/** json: machines (pipes, files); text: the Supervisor's log view; pretty: a developer's terminal. */
export type LogFormat = 'json' | 'text' | 'pretty';

/** Under the Supervisor its log view wants plain lines; a terminal wants colour; anything else, JSON. */
export function chooseLogFormat(where: { addon: boolean; tty: boolean }): LogFormat {
  if (where.addon) return 'text';
  return where.tty ? 'pretty' : 'json';
}

/**
 * pino-pretty is a development dependency: it is required only when a terminal asks for it, and an
 * install without it (the add-on image) prints plain text lines instead. createRequire keeps
 * createLogging synchronous.
 */
export function loadPrettifier(name = 'pino-pretty'): ((line: string) => string) | null {
  let pretty: typeof import('pino-pretty');
  try {
    pretty = createRequire(import.meta.url)(name) as typeof import('pino-pretty');
  } catch {
    return null;
  }
  return pretty.prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', messageFormat: '{if service}[{service}] {end}{msg}' });
}

export class LogHub {
  readonly ring: LogEntry[] = [];
  private readonly prettify: ((line: string) => string) | null;
  private readonly listeners = new Set<(e: LogEntry) => void>();

  constructor(
    private readonly capacity = 100,
    private readonly out: ((line: string) => void) | null = (line) => process.stdout.write(line),
    private readonly format: LogFormat = 'json',
  ) {
    this.prettify = format === 'pretty' ? loadPrettifier() : null;
  }

  /** Receives one serialized pino line. */
  write(line: string): void {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.out?.(line);
      return;
    }
    const entry = toEntry(raw);
    this.out?.(this.prettify ? this.prettify(line) : this.format === 'json' ? line : formatText(entry, raw));
    this.ring.push(entry);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l(entry);
      } catch {
        // A failing subscriber must never break logging.
      }
    }
  }

  subscribe(fn: (e: LogEntry) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  recent(): LogEntry[] {
    return [...this.ring];
  }
}

function toEntry(raw: Record<string, unknown>): LogEntry {
  const time = typeof raw.time === 'number' ? raw.time : Date.now();
  return {
    hostname: typeof raw.hostname === 'string' ? raw.hostname : hostname(),
    level: toNestLevel(typeof raw.level === 'number' ? raw.level : 30),
    msg: typeof raw.msg === 'string' ? raw.msg : '',
    pid: typeof raw.pid === 'number' ? raw.pid : process.pid,
    service: typeof raw.service === 'string' ? raw.service : 'switchboard',
    time,
    timestamp: new Date(time).toISOString(),
  };
}

const LEVEL_NAMES: Record<number, string> = { 20: 'TRACE', 30: 'DEBUG', 40: 'INFO', 50: 'WARN', 60: 'ERROR', 70: 'FATAL' };
const STANDARD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'service']);

/** One readable line for the Supervisor's log view: time, level, service, message, then key=value. */
function formatText(e: LogEntry, raw: Record<string, unknown>): string {
  const extras = Object.entries(raw)
    .filter(([k]) => !STANDARD.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${e.timestamp} ${LEVEL_NAMES[e.level] ?? e.level} [${e.service}] ${e.msg}${extras ? ' ' + extras : ''}\n`;
}

export interface LoggingOptions {
  level: LogLevel;
  format?: LogFormat;
  /** null silences stdout (tests); the hub still keeps and streams lines. */
  out?: ((line: string) => void) | null;
}

export function createLogging(opts: LoggingOptions): { logger: Logger; hub: LogHub } {
  const hub = new LogHub(100, opts.out === undefined ? (l) => process.stdout.write(l) : opts.out, opts.format ?? 'json');
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) hub.write(line + '\n');
      cb();
    },
  });
  const logger = pino(
    {
      level: opts.level,
      // `service` is set by each child logger; lines without one count as 'switchboard'.
      base: { pid: process.pid, hostname: hostname() },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    stream,
  );
  return { logger, hub };
}
