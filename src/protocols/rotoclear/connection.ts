// One /api/v1 client: its sign-in, its message budget, and the translation of its messages into
// camera service calls. Messages are handled one at a time, in order. A sign-in is a session of the
// registry: when its token ends the client goes back to anonymous (the document's downgrade), when
// its user's role changes the client is told its new permissions.
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import type { AuthService } from '../../auth/authService.js';
import type { Actor } from '../../auth/records.js';
import type { Session, SessionRegistry } from '../../auth/sessions.js';
import { toAppError } from '../../core/errors.js';
import { unsafeInputProblems } from '../../core/validation.js';
import { KEYS, readState, stateSource } from './keys.js';
import type { RotoclearView } from './viewState.js';
import { ERRORS, keyError, permissionsFor, type WireError } from './wire.js';

export interface ClientLimits {
  /** Larger messages are answered with an error and not parsed. */
  maxMessageBytes: number;
  messagesPerSecond: number;
}

export interface ClientDeps {
  view: RotoclearView;
  auth: AuthService;
  sessions: SessionRegistry;
  logger: Logger;
  limits: ClientLimits;
  address: string;
  /** Bracket each message's handling, so the broadcast of its changes follows its own reply. */
  begin(): void;
  end(): void;
}

const AUTH_KEYS = new Set(['username', 'password', 'token']);
/** A client that does not read what it is sent is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const MAX_GET_KEYS = 64;
/** A set message carries at most this many keys (as `get` does); more is one error, nothing applied. */
export const MAX_MESSAGE_KEYS = 64;
/** Unknown keys are named in one error, each cut to this length. */
const MAX_NAMED_KEY = 64;

const byteLength = (data: RawData): number =>
  Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;

const asText = (data: RawData): string => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');

export class RotoclearClient {
  actor: Actor | null = null;
  private session: Session | null = null;
  /**
   * The token a username/password sign-in on this connection was issued. The client never sees it
   * (the document's reply carries none), so it ends with the connection instead of piling up in the
   * store for `token_ttl_hours` at every reconnect.
   */
  private ownTokenId: string | null = null;
  /** Cleared at each heartbeat ping, set again by the pong. */
  alive = true;
  private windowStart = 0;
  private windowCount = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly ws: WebSocket,
    private readonly deps: ClientDeps,
  ) {}

  get signedIn(): boolean {
    return this.actor !== null;
  }

  sendRaw(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.deps.logger.warn({ address: this.deps.address }, 'rotoclear client does not keep up; dropping it');
      this.ws.terminate();
      return;
    }
    this.ws.send(text);
  }

  send(message: object): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** Drops the sign-in (its token ended); the client stays connected as anonymous. */
  private signOut(reason: string): void {
    this.session?.close();
    this.session = null;
    this.actor = null;
    this.send({ authenticated: false, error: reason });
  }

  /** The connection closed. */
  closed(): void {
    this.session?.close();
    this.session = null;
    this.dropOwnToken();
  }

  private dropOwnToken(): void {
    const id = this.ownTokenId;
    this.ownTokenId = null;
    if (id) this.deps.auth.revokeToken(id).catch((err: Error) => this.deps.logger.warn({ reason: err.message }, 'rotoclear: could not revoke the connection\'s own token'));
  }

  private signIn(actor: Actor, ownToken = false): void {
    this.session?.close();
    this.dropOwnToken();
    if (ownToken) this.ownTokenId = actor.tokenId ?? null;
    this.actor = actor;
    this.session = this.deps.sessions.open(actor, 'rotoclear', {
      onEnd: (reason) => this.signOut(reason),
      onChange: (next) => {
        this.actor = next;
        this.send({ authenticated: true, username: next.username, role: next.role, permissions: permissionsFor(next.role) });
      },
    });
  }

  onMessage(data: RawData, isBinary: boolean): void {
    if (!this.withinRate()) return;
    if (byteLength(data) > this.deps.limits.maxMessageBytes) {
      this.send({ error: ERRORS.tooLarge, message: `Messages are limited to ${this.deps.limits.maxMessageBytes} bytes` });
      return;
    }
    if (isBinary) {
      this.send({ error: ERRORS.invalidMessage, message: 'Binary messages are not supported; send JSON text' });
      return;
    }
    const text = asText(data);
    this.deps.begin();
    this.chain = this.chain
      .then(() => this.handle(text))
      .catch((err: unknown) => {
        this.deps.logger.error({ err }, 'rotoclear message failed');
        this.send({ error: ERRORS.invalidMessage, message: 'Internal error' });
      })
      .finally(() => this.deps.end());
  }

  /** A fixed one-second window; the first message over the limit is answered, the rest dropped until the window ends. */
  private withinRate(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount += 1;
    const limit = this.deps.limits.messagesPerSecond;
    if (this.windowCount <= limit) return true;
    if (this.windowCount === limit + 1) this.send({ error: ERRORS.rateLimited, message: `At most ${limit} messages per second; messages are dropped until the next second` });
    return false;
  }

  private async handle(text: string): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      this.send({ error: ERRORS.invalidJson, message: `Message is not valid JSON: ${(err as Error).message}` });
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.send({ error: ERRORS.invalidMessage, message: 'A message must be a JSON object of state keys' });
      return;
    }
    const problems = unsafeInputProblems(msg);
    if (problems.length) {
      this.send({ error: ERRORS.invalidMessage, message: `${problems[0]!.path}: ${problems[0]!.message}` });
      return;
    }
    const fields = msg as Record<string, unknown>;
    const count = Object.keys(fields).length;
    if (count === 0) {
      this.send({ error: ERRORS.invalidMessage, message: 'Empty message' });
      return;
    }
    if (count > MAX_MESSAGE_KEYS) {
      this.send({ error: ERRORS.invalidMessage, message: `A message carries at most ${MAX_MESSAGE_KEYS} keys; this one has ${count} and was not applied` });
      return;
    }
    if (Object.keys(fields).some((k) => AUTH_KEYS.has(k))) await this.authenticate(fields);
    // Judged now: the session's end (revoked, expired, user gone) has already signed the client out.
    if (this.session) this.actor = this.session.current();

    const applied: Record<string, unknown> = {};
    const errors: WireError[] = [];
    const unknown: string[] = [];
    for (const [key, value] of Object.entries(fields)) {
      if (AUTH_KEYS.has(key) || key === 'get') continue;
      const def = KEYS.get(key);
      if (!def) {
        unknown.push(key.length > MAX_NAMED_KEY ? `${key.slice(0, MAX_NAMED_KEY)}…` : key);
      } else if (!def.write) {
        errors.push({ error: ERRORS.permissionDenied, key, message: `${key} is read-only` });
      } else if (!this.actor) {
        errors.push({ error: ERRORS.permissionDenied, key, message: `Sign in to change ${key}` });
      } else {
        try {
          await def.write(this.deps.view, this.actor, value);
          applied[key] = def.read(stateSource(this.deps.view));
        } catch (err) {
          errors.push(keyError(key, err));
        }
      }
    }
    const keys = Object.keys(applied);
    if (keys.length) this.send({ ...applied, info: keys });
    for (const e of errors) this.send(e);
    // One error for every unknown key of the message, naming them (bounded by the key cap).
    if (unknown.length) {
      this.send({ error: ERRORS.unknownKey, key: unknown[0], keys: unknown, message: `Not state keys: ${unknown.map((k) => `"${k}"`).join(', ')}` });
    }
    if ('get' in fields) this.get(fields.get);
  }

  private get(request: unknown): void {
    const keys = typeof request === 'string' ? [request] : request;
    if (!Array.isArray(keys) || keys.length > MAX_GET_KEYS || !keys.every((k) => typeof k === 'string')) {
      this.send({ error: ERRORS.invalidValue, key: 'get', message: `get takes a state key or an array of up to ${MAX_GET_KEYS} state keys` });
      return;
    }
    if (keys.length === 0) {
      this.send(readState(this.deps.view, this.signedIn));
      return;
    }
    const source = stateSource(this.deps.view);
    const values: Record<string, unknown> = {};
    const errors: WireError[] = [];
    for (const key of keys as string[]) {
      const def = KEYS.get(key);
      if (!def) errors.push({ error: ERRORS.unknownKey, key, message: `"${key}" is not a state key` });
      else if (!def.public && !this.signedIn) errors.push({ error: ERRORS.permissionDenied, key, message: `Sign in to read ${key}` });
      else values[key] = def.read(source);
    }
    if (Object.keys(values).length) this.send(values);
    for (const e of errors) this.send(e);
  }

  private async authenticate(fields: Record<string, unknown>): Promise<void> {
    const { username, password, token } = fields;
    let actor: Actor | null;
    if (token !== undefined) {
      actor = this.deps.auth.authenticate(token);
      if (!actor) {
        this.send({ authenticated: false, error: 'Invalid token' });
        return;
      }
    } else {
      try {
        const issued = await this.deps.auth.login(username, password, this.deps.address);
        actor = { kind: 'user', userId: issued.user.id, username: issued.user.username, role: issued.user.role, tokenId: issued.tokenId };
      } catch (err) {
        const e = toAppError(err);
        this.send({ authenticated: false, error: e.kind === 'rate_limited' ? e.message : 'Invalid user credentials' });
        return;
      }
    }
    this.signIn(actor, token === undefined);
    this.send({ authenticated: true, username: actor.username, role: actor.role, permissions: permissionsFor(actor.role) });
    // Signing in may unlock keys anonymous clients cannot read: send the whole state once.
    this.send(readState(this.deps.view, true));
  }
}
