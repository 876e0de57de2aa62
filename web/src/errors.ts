// Every failure the panel shows is a sentence. Server errors arrive as {error:{message, details}}
// (HTTP, NestMTX), {code, message} (Antimony), {error, key, message} (Rotoclear) or {reason}
// (Altoponix); network trouble as exceptions. This turns each into words.
import type { ErrorDetail } from '../../src/core/errors.js';

export class PanelError extends Error {
  constructor(
    message: string,
    readonly details: ErrorDetail[] = [],
    /** HTTP status or Antimony code, for the program only; never shown alone. */
    readonly code?: number,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** {error:{message, details}} → PanelError, anything else → null. */
export function replyError(reply: unknown, status?: number): PanelError | null {
  if (!isObject(reply) || !isObject(reply.error)) return null;
  const e = reply.error;
  const details = Array.isArray(e.details) ? e.details.filter(isObject).map((d) => ({ path: String(d.path ?? ''), message: String(d.message ?? '') })) : [];
  return new PanelError(typeof e.message === 'string' ? e.message : 'The request failed', details, status);
}

const ANTIMONY: Record<number, string> = {
  5001: 'The lab runtime reported an error',
  5002: 'This lab is already busy with another action',
  5422: 'The request was not valid',
  5404: 'That lab does not exist (any more)',
  5403: 'You are not allowed to do that',
};

/** Antimony acknowledgement {code, message} → PanelError, success → null. */
export function antimonyError(ack: unknown): PanelError | null {
  if (!isObject(ack) || typeof ack.code !== 'number') return null;
  const phrase = ANTIMONY[ack.code] ?? 'The lab action failed';
  const message = typeof ack.message === 'string' && ack.message && ack.message !== phrase ? `${phrase}: ${ack.message}` : phrase;
  return new PanelError(message, [], ack.code);
}

const FRIENDLY: Record<string, string> = {
  Unauthorized: 'You are not signed in, or your session has expired. Please sign in again.',
  'Invalid Token': 'Your session has expired. Please sign in again.',
  Forbidden: 'Your role does not allow this.',
  'Invalid user credentials': 'Wrong username or password.',
  'xhr poll error': 'Cannot reach Switchboard. Is the add-on running?',
  'websocket error': 'Cannot reach Switchboard. Is the add-on running?',
  timeout: 'Switchboard did not answer in time.',
};

const pathWords = (p: string) => p.replace(/^payload\.?/, '').replace(/^controls\./, '').replace(/\./g, ' › ');

/** One human sentence (or a few) for any error value. */
export function describe(err: unknown): string {
  if (err instanceof PanelError) {
    const head = FRIENDLY[err.message] ?? err.message;
    const extra = err.details.filter((d) => d.message && d.message !== err.message).map((d) => (d.path ? `${pathWords(d.path)}: ${d.message}` : d.message));
    return extra.length ? `${head} (${extra.join('; ')})` : head;
  }
  if (err instanceof TypeError && /fetch|network/i.test(err.message)) return 'Cannot reach Switchboard. Check the connection and that the add-on is running.';
  if (err instanceof Error) return FRIENDLY[err.message] ?? err.message;
  const fromReply = replyError(err);
  if (fromReply) return describe(fromReply);
  return 'Something went wrong.';
}
