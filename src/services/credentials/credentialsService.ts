// The credentials module: OAuth2 client credentials, their authorization (code + PKCE, single-use
// state bound to the credential) and their refresh. Secrets are sealed at rest and never returned.
import type { Logger } from 'pino';
import { z } from 'zod';
import { authorize } from '../../auth/permissions.js';
import type { Actor } from '../../auth/records.js';
import type { EventBus } from '../../core/eventBus.js';
import { notFound, runtimeError, validationError, type ErrorDetail } from '../../core/errors.js';
import { newId, newSecret } from '../../core/ids.js';
import { parseInput } from '../../core/validation.js';
import type { Collection } from '../../store/database.js';
import { paginate, type ListQuery, type ListResult, type ModuleService } from '../modules.js';
import { OAuthError, authorizationUrl, newPkce, requestToken, type ClientAuth, type TokenResponse } from './oauthClient.js';
import { PROVIDERS, TOKEN_AUTH_METHODS, toCredentialView, type CredentialRecord, type CredentialView } from './records.js';
import { DEFAULT_REFRESH_TIMING, Refresher, type RefreshOutcome, type RefreshTiming } from './refresher.js';
import type { SecretBox } from './secretBox.js';
import type { Extension } from '../../core/extension.js';

export const CALLBACK_PATH = '/api/credentials/callback';
const STATE_TTL_MS = 10 * 60_000;

const GOOGLE = {
  authorizeUrl: (projectId: string) => `https://nestservices.google.com/partnerconnections/${encodeURIComponent(projectId)}/auth`,
  tokenUrl: 'https://www.googleapis.com/oauth2/v4/token',
  scopes: ['https://www.googleapis.com/auth/sdm.service'],
};

const httpUrl = z
  .string()
  .max(2048)
  .url()
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http or https URL');
// RFC 6749 §3.3 scope-token characters; a space-separated string is accepted as well as a list.
const scopes = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(' ').filter(Boolean) : v),
  z.array(z.string().min(1).max(512).regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'not a valid scope token')).max(50),
);
const fields = {
  description: z.string().trim().min(1).max(200),
  provider: z.enum(PROVIDERS),
  client_id: z.string().min(1).max(512),
  client_secret: z.string().min(1).max(2048).nullable(),
  authorize_url: httpUrl,
  token_url: httpUrl,
  scopes,
  project_id: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.-]+$/, 'may contain letters, digits, _ . -').nullable(),
  token_auth_method: z.enum(TOKEN_AUTH_METHODS),
};
const createSchema = z
  .object({
    ...fields,
    provider: fields.provider.default('generic'),
    client_secret: fields.client_secret.optional(),
    authorize_url: fields.authorize_url.optional(),
    token_url: fields.token_url.optional(),
    scopes: fields.scopes.optional(),
    project_id: fields.project_id.optional(),
    token_auth_method: fields.token_auth_method.default('client_secret_post'),
  })
  .strict();
const origin = z
  .string()
  .max(512)
  .url()
  .transform((o) => o.replace(/\/+$/, ''))
  .refine((o) => URL.canParse(o) && /^https?:$/.test(new URL(o).protocol) && new URL(o).origin === o, 'must be an origin such as https://host:port (no path)');
const updateSchema = z.object({ ...z.object(fields).partial().shape, origin: origin.optional() }).strict();

type Settings = Pick<CredentialRecord, 'description' | 'provider' | 'client_id' | 'authorize_url' | 'token_url' | 'scopes' | 'project_id' | 'token_auth_method'>;
/** Changing any of these means the old tokens belong to another client or grant. */
const GRANT_FIELDS = ['provider', 'client_id', 'authorize_url', 'token_url', 'scopes', 'project_id'] as const;

interface PendingAuthorization {
  credentialId: string;
  verifier: string;
  redirectUri: string;
  expires: number;
}

interface StoredTokens {
  access_token: string;
  refresh_token: string | null;
}

export interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
  error_description?: string;
}

export interface CredentialsServiceDeps {
  collection: Collection<CredentialRecord>;
  bus: EventBus;
  box: SecretBox;
  logger: Logger;
  timing?: RefreshTiming;
}

export class CredentialsService implements ModuleService, Extension {
  readonly name = 'credentials';
  private readonly pending = new Map<string, PendingAuthorization>();
  private readonly inflight = new Map<string, Promise<RefreshOutcome>>();
  private readonly refresher: Refresher;
  private readonly abort = new AbortController();

  constructor(private readonly deps: CredentialsServiceDeps) {
    this.refresher = new Refresher((id) => this.refresh(id), deps.timing ?? DEFAULT_REFRESH_TIMING);
  }

  /** Plans the refresh of every authorized credential (an expired one refreshes at once). */
  async start(): Promise<void> {
    for (const r of this.deps.collection.all()) this.planRefresh(r);
  }

  async stop(): Promise<void> {
    this.refresher.stop();
    this.abort.abort();
    await Promise.allSettled([...this.inflight.values()]);
  }

  all(): CredentialView[] {
    return this.deps.collection.all().map(toCredentialView);
  }

  /** The current access token for a consumer inside the add-on (camera sources); never over an API. */
  accessToken(id: string): string | null {
    const r = this.deps.collection.get(id);
    return r?.authorized ? (this.openTokens(r)?.access_token ?? null) : null;
  }

  // --- module commands

  async list(actor: Actor, query: ListQuery): Promise<ListResult<CredentialView>> {
    this.requireReader(actor);
    return paginate(this.all(), query, ['description', 'provider', 'client_id'], ['description', 'provider', 'client_id', 'authorized', 'needs_reauth', 'expires_at', 'created_at', 'updated_at']);
  }

  async read(actor: Actor, id: string): Promise<CredentialView> {
    this.requireReader(actor);
    return toCredentialView(this.get(id));
  }

  async create(actor: Actor, payload: unknown): Promise<CredentialView> {
    this.requireAdmin(actor, 'create');
    const input = parseInput(createSchema, payload);
    const settings = this.completeSettings(
      { description: input.description, provider: input.provider, client_id: input.client_id, authorize_url: input.authorize_url ?? '', token_url: input.token_url ?? '', scopes: input.scopes ?? [], project_id: input.project_id ?? null, token_auth_method: input.token_auth_method },
      { authorizeGiven: input.authorize_url !== undefined, tokenGiven: input.token_url !== undefined, scopesGiven: input.scopes !== undefined },
    );
    const now = new Date().toISOString();
    const id = newId();
    const record: CredentialRecord = {
      id,
      ...settings,
      client_secret_enc: input.client_secret ? this.deps.box.seal(input.client_secret, `${id}:client_secret`) : null,
      tokens_enc: null,
      authorized: false,
      expires_at: null,
      expires_in: null,
      last_error: null,
      needs_reauth: false,
      created_at: now,
      updated_at: now,
    };
    await this.deps.collection.insert(record);
    this.deps.bus.publish('credentials', id, 'created', { description: record.description, provider: record.provider });
    return toCredentialView(record);
  }

  /** Field changes, and/or `{origin}`: then the answer is `{url}`, where the user authorizes. */
  async update(actor: Actor, id: string, payload: unknown): Promise<CredentialView | { url: string }> {
    this.requireAdmin(actor, 'update');
    const current = this.get(id);
    const input = parseInput(updateSchema, payload);
    const { origin: requestedOrigin, client_secret: secret, ...changes } = input;
    const changed = Object.keys(changes).length > 0 || secret !== undefined;
    if (changed) {
      const merged = this.completeSettings(
        { ...pickSettings(current), ...changes },
        {
          authorizeGiven: changes.authorize_url !== undefined || !(changes.project_id !== undefined || changes.provider !== undefined),
          tokenGiven: changes.token_url !== undefined || changes.provider === undefined,
          scopesGiven: changes.scopes !== undefined || changes.provider === undefined,
        },
      );
      const regrant = GRANT_FIELDS.some((k) => JSON.stringify(merged[k]) !== JSON.stringify(current[k]));
      const next = await this.deps.collection.update(id, (r) => ({
        ...r,
        ...merged,
        ...(secret !== undefined ? { client_secret_enc: secret === null ? null : this.deps.box.seal(secret, `${id}:client_secret`) } : {}),
        ...(regrant ? { tokens_enc: null, authorized: false, expires_at: null, expires_in: null, needs_reauth: false, last_error: null } : {}),
        updated_at: new Date().toISOString(),
      }));
      if (!next) throw notFound('Credential');
      if (regrant) {
        this.refresher.cancel(id);
      }
      this.deps.bus.publish('credentials', id, 'updated', { fields: Object.keys(input).filter((k) => k !== 'origin'), ...(regrant ? { deauthorized: current.authorized } : {}) });
      if (!requestedOrigin) return toCredentialView(next);
    }
    if (!requestedOrigin) throw validationError('Validation failed', [{ path: 'payload', message: 'nothing to update' }]);
    return { url: this.beginAuthorization(this.get(id), requestedOrigin) };
  }

  async delete(actor: Actor, id: string): Promise<CredentialView> {
    this.requireAdmin(actor, 'delete');
    const current = this.get(id);
    await this.deps.collection.remove(id);
    this.refresher.cancel(id);
    for (const [state, p] of this.pending) if (p.credentialId === id) this.pending.delete(state);
    this.deps.bus.publish('credentials', id, 'deleted', { description: current.description });
    return toCredentialView(current);
  }

  // --- authorization flow

  private beginAuthorization(r: CredentialRecord, origin: string): string {
    const now = Date.now();
    for (const [s, p] of this.pending) if (p.expires < now || p.credentialId === r.id) this.pending.delete(s);
    const state = newSecret(24);
    const pkce = newPkce();
    const redirectUri = `${origin}${CALLBACK_PATH}`;
    this.pending.set(state, { credentialId: r.id, verifier: pkce.verifier, redirectUri, expires: now + STATE_TTL_MS });
    // Google only hands out a refresh token for offline access with fresh consent.
    const extra: Record<string, string> = r.provider === 'google-device-access' ? { access_type: 'offline', prompt: 'consent' } : {};
    return authorizationUrl(r.authorize_url, { clientId: r.client_id, redirectUri, scopes: r.scopes, state, pkce, extra });
  }

  /** The redirect back from the authorization server: exchanges the code for tokens. */
  async completeAuthorization(q: CallbackQuery): Promise<CredentialView> {
    const pending = q.state ? this.pending.get(q.state) : undefined;
    if (!q.state || !pending || pending.expires < Date.now()) {
      throw validationError('Invalid or expired authorization state', [{ path: 'query.state', message: 'unknown, used or expired; start the authorization again' }]);
    }
    this.pending.delete(q.state);
    const r = this.get(pending.credentialId);
    if (q.error) {
      const message = `authorization refused: ${q.error}${q.error_description ? `: ${q.error_description}` : ''}`;
      await this.patch(r.id, { last_error: message });
      throw validationError('Authorization was not granted', [{ path: 'query.error', message }]);
    }
    if (!q.code) throw validationError('Invalid callback', [{ path: 'query.code', message: 'required' }]);
    let tokens: TokenResponse;
    try {
      tokens = await requestToken(r.token_url, this.clientAuth(r), { grant_type: 'authorization_code', code: q.code, redirect_uri: pending.redirectUri, code_verifier: pending.verifier }, this.abort.signal);
    } catch (err) {
      const message = err instanceof OAuthError ? err.message : 'token exchange failed';
      await this.patch(r.id, { last_error: `token exchange failed: ${message}` });
      this.deps.logger.warn({ credential: r.id, error: message }, 'authorization code exchange failed');
      throw runtimeError('Token exchange failed', [{ path: 'token_url', message }]);
    }
    const next = await this.storeTokens(r.id, tokens, null);
    if (!next) throw notFound('Credential');
    this.deps.logger.info({ credential: r.id, expires_at: next.expires_at }, 'credential authorized');
    this.deps.bus.publish('credentials', r.id, 'authenticated', { expires_at: next.expires_at });
    this.planRefresh(next);
    return toCredentialView(next);
  }

  // --- refresh

  /** One refresh at a time per credential; the refresher calls this when one is due. */
  refresh(id: string): Promise<RefreshOutcome> {
    let p = this.inflight.get(id);
    if (!p) {
      p = this.doRefresh(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  private async doRefresh(id: string): Promise<RefreshOutcome> {
    const r = this.deps.collection.get(id);
    if (!r || !r.authorized) return 'gone';
    const stored = this.openTokens(r);
    if (!stored?.refresh_token) {
      await this.markUnauthenticated(r, stored ? 'no_refresh_token: the server issued no refresh token; authorize again' : 'the stored tokens cannot be decrypted; authorize again');
      return 'permanent';
    }
    const refreshToken = stored.refresh_token;
    let client: ClientAuth;
    try {
      client = this.clientAuth(r);
    } catch (err) {
      await this.markUnauthenticated(r, (err as Error).message);
      return 'permanent';
    }
    let tokens: TokenResponse;
    try {
      tokens = await requestToken(r.token_url, client, { grant_type: 'refresh_token', refresh_token: refreshToken }, this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return 'gone';
      const e = err instanceof OAuthError ? err : new OAuthError('transient', 'unknown', (err as Error).message);
      if (e.kind === 'permanent') {
        await this.markUnauthenticated(r, e.message);
        return 'permanent';
      }
      // Transient: note it and let the refresher back off. No credentials event, so a network
      // outage does not turn into a storm of notifications.
      this.deps.logger.warn({ credential: id, error: e.message, failures: this.refresher.failureCount(id) + 1 }, 'credential refresh failed; will retry');
      await this.patch(id, { last_error: e.message });
      return 'transient';
    }
    const next = await this.storeTokens(id, tokens, refreshToken);
    if (!next) return 'gone';
    this.deps.bus.publish('credentials', id, 'reauthenticated', { expires_at: next.expires_at });
    this.planRefresh(next);
    return 'ok';
  }

  private async markUnauthenticated(r: CredentialRecord, error: string): Promise<void> {
    this.deps.logger.warn({ credential: r.id, error }, 'credential needs re-authorization');
    const next = await this.patch(r.id, { authorized: false, needs_reauth: true, tokens_enc: null, expires_at: null, expires_in: null, last_error: error });
    this.refresher.cancel(r.id);
    if (!next) return;
    this.deps.bus.publish('credentials', r.id, 'unauthenticated', { description: r.description, error });
  }

  private planRefresh(r: CredentialRecord): void {
    if (!r.authorized) return this.refresher.cancel(r.id);
    this.refresher.plan(r.id, r.expires_at ? Date.parse(r.expires_at) : null, r.expires_in);
  }

  private storeTokens(id: string, t: TokenResponse, previousRefresh: string | null): Promise<CredentialRecord | undefined> {
    const tokens: StoredTokens = { access_token: t.access_token, refresh_token: t.refresh_token ?? previousRefresh };
    return this.patch(id, {
      tokens_enc: this.deps.box.seal(JSON.stringify(tokens), `${id}:tokens`),
      authorized: true,
      needs_reauth: false,
      last_error: null,
      expires_at: t.expires_in === null ? null : new Date(t.received_at + t.expires_in * 1000).toISOString(),
      expires_in: t.expires_in,
    });
  }

  // --- helpers

  private patch(id: string, change: Partial<CredentialRecord>): Promise<CredentialRecord | undefined> {
    // Refreshed tokens must not be lost to a full store (the provider may have retired the old ones).
    return this.deps.collection.update(id, (r) => ({ ...r, ...change, updated_at: new Date().toISOString() }), { keepOnFault: true });
  }

  private openTokens(r: CredentialRecord): StoredTokens | null {
    if (!r.tokens_enc) return null;
    try {
      return JSON.parse(this.deps.box.open(r.tokens_enc, `${r.id}:tokens`)) as StoredTokens;
    } catch (err) {
      this.deps.logger.error({ credential: r.id, err: (err as Error).message }, 'stored tokens cannot be decrypted (was secret.key replaced?)');
      return null;
    }
  }

  private clientAuth(r: CredentialRecord): ClientAuth {
    let secret: string | null = null;
    if (r.client_secret_enc) {
      try {
        secret = this.deps.box.open(r.client_secret_enc, `${r.id}:client_secret`);
      } catch {
        throw runtimeError('The client secret cannot be decrypted (was secret.key replaced?); set it again');
      }
    }
    return { clientId: r.client_id, clientSecret: secret, method: r.token_auth_method };
  }

  private get(id: string): CredentialRecord {
    const r = this.deps.collection.get(id);
    if (!r) throw notFound('Credential');
    return r;
  }

  private requireReader(actor: Actor): void {
    authorize(actor, 'credentials.read', 'Not allowed to read credentials');
  }

  private requireAdmin(actor: Actor, what: string): void {
    authorize(actor, 'credentials.manage', `Only admins may ${what} credentials`);
  }

  /** Provider defaults and the fields each provider needs, with a path for each problem. */
  private completeSettings(s: Settings, given: { authorizeGiven: boolean; tokenGiven: boolean; scopesGiven: boolean }): Settings {
    const out = { ...s };
    const problems: ErrorDetail[] = [];
    if (out.provider === 'google-device-access') {
      if (!out.project_id) problems.push({ path: 'payload.project_id', message: 'required for google-device-access' });
      else if (!given.authorizeGiven || !out.authorize_url) out.authorize_url = GOOGLE.authorizeUrl(out.project_id);
      if (!given.tokenGiven || !out.token_url) out.token_url = GOOGLE.tokenUrl;
      if (!given.scopesGiven || out.scopes.length === 0) out.scopes = GOOGLE.scopes;
    } else {
      if (!out.authorize_url) problems.push({ path: 'payload.authorize_url', message: 'required for a generic provider' });
      if (!out.token_url) problems.push({ path: 'payload.token_url', message: 'required for a generic provider' });
    }
    if (problems.length) throw validationError('Validation failed', problems);
    return out;
  }
}

const pickSettings = (r: CredentialRecord): Settings => ({
  description: r.description,
  provider: r.provider,
  client_id: r.client_id,
  authorize_url: r.authorize_url,
  token_url: r.token_url,
  scopes: r.scopes,
  project_id: r.project_id,
  token_auth_method: r.token_auth_method,
});
