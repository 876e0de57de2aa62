// Sign-in through Home Assistant ingress. The Supervisor's ingress proxy has already authenticated
// the HA user and says who it is in X-Remote-User-* headers; those headers are believed only when the
// connection comes from a configured proxy address (anyone can send headers, nobody else can be that
// address on the add-on's network). Each HA user maps to one Switchboard user (`ha_user_id`),
// created on first visit by the users service with role `user`; Home Assistant administrators
// become admins as soon as HA says so (haRoles.ts).
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { forbidden, validationError, type ErrorDetail } from '../core/errors.js';
import type { AuthService, IssuedToken } from './authService.js';
import type { HaRoles } from './haRoles.js';
import type { UserRecord } from './records.js';
import { normalizeAddress } from './forwardedAddress.js';

/** What the Supervisor sends with every ingress request (supervisor/api/ingress.py). */
export const HA_HEADERS = {
  id: 'x-remote-user-id',
  name: 'x-remote-user-name',
  displayName: 'x-remote-user-display-name',
  ingressPath: 'x-ingress-path',
} as const;

export interface HaIdentity {
  id: string;
  /** HA's login name; older Supervisors may not send it. */
  name: string | null;
  displayName: string | null;
}

/** The accounts side (UsersService, a layer above): it owns the rules for creating users. */
export interface HaUserAccounts {
  findByHomeAssistantId(haUserId: string): UserRecord | undefined;
  createForHomeAssistant(name: string, haUserId: string): Promise<UserRecord>;
}

export interface IngressSignInDeps {
  users: HaUserAccounts;
  auth: AuthService;
  trustedProxies: readonly string[];
  /** Home Assistant's administrators become admins; absent: roles are Switchboard's alone. */
  roles?: HaRoles;
}

const MAX_HEADER = 256;
const USERNAME_MAX = 64;

const hasControlChars = (v: string): boolean => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

function header(headers: IncomingHttpHeaders, name: string, details: ErrorDetail[]): string | null {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === '') return null;
  if (value.length > MAX_HEADER || hasControlChars(value)) {
    details.push({ path: `headers.${name}`, message: `must be printable text of at most ${MAX_HEADER} characters` });
    return null;
  }
  return value.trim();
}

/** A Switchboard username from HA's names: the allowed characters only, `ha_<id>` when nothing usable is left. */
export function usernameFor(identity: HaIdentity): string {
  const pick = (v: string | null) => (v ?? '').normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^A-Za-z0-9_.@-]+/g, '_').replace(/^_+|_+$/g, '');
  const base = pick(identity.name) || pick(identity.displayName) || `ha_${pick(identity.id).slice(0, 12) || 'user'}`;
  return base.slice(0, USERNAME_MAX);
}

export class IngressSignIn {
  private readonly trusted: ReadonlySet<string>;
  /** First visits in progress per HA user id: two parallel requests must not create two users. */
  private readonly creating = new Map<string, Promise<UserRecord>>();

  constructor(private readonly deps: IngressSignInDeps) {
    this.trusted = new Set(deps.trustedProxies.filter((a) => isIP(a) !== 0).map(normalizeAddress));
  }

  /** Did this connection come from the ingress proxy? */
  isTrustedProxy(address: string | undefined): boolean {
    return this.trusted.has(normalizeAddress(address));
  }

  /** The HA user a request speaks for, or null when it is not an ingress request with user headers. */
  identify(address: string | undefined, headers: IncomingHttpHeaders): HaIdentity | null {
    if (!this.isTrustedProxy(address)) return null;
    const details: ErrorDetail[] = [];
    const id = header(headers, HA_HEADERS.id, details);
    const name = header(headers, HA_HEADERS.name, details);
    const displayName = header(headers, HA_HEADERS.displayName, details);
    if (details.length) throw validationError('Invalid Home Assistant user headers', details);
    return id === null ? null : { id, name, displayName };
  }

  /** Issues a bearer token for the Switchboard user mapped to the request's HA user. */
  async signIn(address: string | undefined, headers: IncomingHttpHeaders): Promise<IssuedToken> {
    if (!this.isTrustedProxy(address)) throw forbidden('Home Assistant sign-in is only possible through the Home Assistant ingress proxy');
    const identity = this.identify(address, headers);
    if (!identity) throw forbidden('The ingress request carries no Home Assistant user');
    const found = this.deps.users.findByHomeAssistantId(identity.id) ?? (await this.createOnce(identity));
    const user = this.deps.roles ? await this.deps.roles.atSignIn(found) : found;
    if (!user.can_login) throw forbidden('This Home Assistant user is disabled in Switchboard');
    return this.deps.auth.issue(user);
  }

  private createOnce(identity: HaIdentity): Promise<UserRecord> {
    const pending = this.creating.get(identity.id);
    if (pending) return pending;
    const p = this.deps.users.createForHomeAssistant(usernameFor(identity), identity.id).finally(() => this.creating.delete(identity.id));
    this.creating.set(identity.id, p);
    return p;
  }
}
