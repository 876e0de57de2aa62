// The wire shape of a NestMTX `request` event, {command, module, requestId, entity?, payload?}, sent
// as an object or as its JSON text (the original server parses strings, and clients rely on it).
// Only the envelope is checked here; what command/module/entity/payload mean is ModuleRegistry's.
import { malformed, validationError, type AppError, type ErrorDetail } from '../../core/errors.js';
import type { ModuleRequest } from '../../services/modules.js';

export const REQUEST_KEYS: readonly string[] = ['command', 'module', 'requestId', 'entity', 'payload'];
export const MAX_REQUEST_ID_LENGTH = 128;

/** Status topics are `<domain>:<event>`; a reply under such a name would look like a status event. */
const TOPIC_PREFIX = /^(camera|credentials|monitor|nestmtx):/;
/**
 * Names a reply must never use: Socket.IO's reserved events (emitting them throws), `error`
 * (Node emitters treat it specially) and the events this API already sends.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener', 'error', 'log', 'failure', 'request']);

const MAX_DETAILS = 20;
const MAX_WALK_DEPTH = 32;

export type ParsedRequest =
  /** No usable requestId: answered on `failure`. */
  | { kind: 'failure'; details: ErrorDetail[] }
  /** A requestId, but the envelope is wrong: answered on the requestId. */
  | { kind: 'invalid'; requestId: string; error: AppError; context: RequestContext }
  /** No context here: most requests succeed, and an error reply builds it with `requestContext`. */
  | { kind: 'ok'; requestId: string; request: ModuleRequest };

/** What an error reply echoes of its request, as the original's `context` does; never the payload (it may hold passwords). */
export interface RequestContext {
  requestId: string;
  command?: string;
  module?: string;
  entity?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !isBinary(v);
const isBinary = (v: unknown): boolean => ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
const shortKey = (k: string) => (k.length > 64 ? `${k.slice(0, 64)}…` : k);

/** A JSON text becomes the value it encodes; anything else, or text that does not parse, stays as it came. */
export function decodeRequest(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    // Not JSON (or nested past what the parser can take): refused below as not an object.
    return raw;
  }
}

/** The requestId if it can name a reply event, otherwise why not. */
export function requestIdOf(raw: unknown): { requestId: string } | { problem: ErrorDetail } {
  if (!isPlainObject(raw)) return { problem: { path: '', message: 'request must be an object {command, module, requestId, entity?, payload?} or its JSON text' } };
  const id = raw.requestId;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_REQUEST_ID_LENGTH) {
    return { problem: { path: 'requestId', message: `must be a non-empty string of at most ${MAX_REQUEST_ID_LENGTH} characters` } };
  }
  if (RESERVED_NAMES.has(id) || TOPIC_PREFIX.test(id)) return { problem: { path: 'requestId', message: 'must not be a reserved event or status topic name' } };
  return { requestId: id };
}

const MAX_CONTEXT_VALUE = 128;
const CONTEXT_KEYS = ['command', 'module', 'entity'] as const;

/** The request's identifying fields for an error reply; values that are not short strings are left out. */
export function requestContext(raw: unknown, requestId: string): RequestContext {
  const context: RequestContext = { requestId };
  if (!isPlainObject(raw)) return context;
  for (const key of CONTEXT_KEYS) {
    const value = raw[key];
    if (typeof value === 'string' && value.length <= MAX_CONTEXT_VALUE) context[key] = value;
  }
  return context;
}

/**
 * Socket.IO rebuilds binary attachments as Buffers; no module takes binary input, and walking a
 * large Buffer key by key would be costly later on, so it is refused here.
 */
function binaryPath(value: unknown, path: string, depth: number): string | null {
  if (isBinary(value)) return path;
  if (typeof value !== 'object' || value === null || depth >= MAX_WALK_DEPTH) return null;
  for (const key of Object.keys(value)) {
    const found = binaryPath((value as Record<string, unknown>)[key], path ? `${path}.${shortKey(key)}` : shortKey(key), depth + 1);
    if (found !== null) return found;
  }
  return null;
}

export function parseRequest(raw: unknown): ParsedRequest {
  const id = requestIdOf(raw);
  if ('problem' in id) return { kind: 'failure', details: [id.problem] };
  const req = raw as Record<string, unknown>;
  const unknownKeys = Object.keys(req).filter((k) => !REQUEST_KEYS.includes(k));
  if (unknownKeys.length) {
    const details = unknownKeys.slice(0, MAX_DETAILS).map((k) => ({ path: shortKey(k), message: `unknown key; allowed: ${REQUEST_KEYS.join(', ')}` }));
    return { kind: 'invalid', requestId: id.requestId, error: validationError('Invalid Request', details), context: requestContext(req, id.requestId) };
  }
  const binary = binaryPath(req, '', 0);
  if (binary !== null) return { kind: 'invalid', requestId: id.requestId, error: malformed('Invalid Request', [{ path: binary, message: 'binary data is not accepted' }]), context: requestContext(req, id.requestId) };
  return { kind: 'ok', requestId: id.requestId, request: { command: req.command, module: req.module, entity: req.entity, payload: req.payload } };
}
