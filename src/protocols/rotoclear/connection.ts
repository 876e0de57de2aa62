// One /api/v1 client: its sign-in, its message budget, and the translation of its messages into
// camera service calls. Messages are handled one at a time, in order.
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import type { AuthService } from '../../auth/authService.js';
import type { Actor } from '../../auth/records.js';
import type { CameraService } from '../../camera/cameraService.js';
import { toAppError } from '../../core/errors.js';
import { unsafeInputProblems } from '../../core/validation.js';
import { KEYS, readState, stateSource } from './keys.js';
import { ERRORS, keyError, permissionsFor, type WireError } from './wire.js';

export interface ClientLimits {
  /** Larger messages are answered with an error and not parsed. */
  maxMessageBytes: number;
  messagesPerSecond: number;
}

export interface ClientDeps {
  cameras: CameraService;
  auth: AuthService;
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

const byteLength = (data: RawData): number =>
  Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;

const asText = (data: RawData): string => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');

export class RotoclearClient {
  actor: Actor | null = null;
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

  /** Drops the sign-in (its token was revoked); the client stays connected as anonymous. */
  signOut(reason: string): void {
    this.actor = null;
    this.send({ authenticated: false, error: reason });
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
    if (Object.keys(fields).length === 0) {
      this.send({ error: ERRORS.invalidMessage, message: 'Empty message' });
      return;
    }
    if (Object.keys(fields).some((k) => AUTH_KEYS.has(k))) await this.authenticate(fields);
    if (this.actor?.tokenId && !this.deps.auth.isTokenValid(this.actor.tokenId)) this.signOut('Session expired');

    const applied: Record<string, unknown> = {};
    const errors: WireError[] = [];
    for (const [key, value] of Object.entries(fields)) {
      if (AUTH_KEYS.has(key) || key === 'get') continue;
      const def = KEYS.get(key);
      if (!def) {
        errors.push({ error: ERRORS.unknownKey, key, message: `"${key}" is not a state key` });
      } else if (!def.write) {
        errors.push({ error: ERRORS.permissionDenied, key, message: `${key} is read-only` });
      } else if (!this.actor) {
        errors.push({ error: ERRORS.permissionDenied, key, message: `Sign in to change ${key}` });
      } else {
        try {
          await def.write(this.deps.cameras, this.actor, value);
          applied[key] = def.read(stateSource(this.deps.cameras));
        } catch (err) {
          errors.push(keyError(key, err));
        }
      }
    }
    const keys = Object.keys(applied);
    if (keys.length) this.send({ ...applied, info: keys });
    for (const e of errors) this.send(e);
    if ('get' in fields) this.get(fields.get);
  }

  private get(request: unknown): void {
    const keys = typeof request === 'string' ? [request] : request;
    if (!Array.isArray(keys) || keys.length > MAX_GET_KEYS || !keys.every((k) => typeof k === 'string')) {
      this.send({ error: ERRORS.invalidValue, key: 'get', message: `get takes a state key or an array of up to ${MAX_GET_KEYS} state keys` });
      return;
    }
    if (keys.length === 0) {
      this.send(readState(this.deps.cameras, this.signedIn));
      return;
    }
    const source = stateSource(this.deps.cameras);
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
    this.actor = actor;
    this.send({ authenticated: true, username: actor.username, role: actor.role, permissions: permissionsFor(actor.role) });
    // Signing in may unlock keys anonymous clients cannot read: send the whole state once.
    this.send(readState(this.deps.cameras, true));
  }
}
