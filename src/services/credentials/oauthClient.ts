// The OAuth2 client side (RFC 6749 + PKCE, RFC 7636): authorization URLs and token endpoint calls.
// Token endpoint failures are classified once here: `permanent` needs the user (invalid_grant,
// revoked, wrong client), `transient` is worth retrying (network, 5xx, 429, temporarily_unavailable).
import { createHash } from 'node:crypto';
import { newSecret } from '../../core/ids.js';
import type { TokenAuthMethod } from './records.js';

export interface TokenResponse {
  access_token: string;
  refresh_token: string | null;
  /** Seconds, or null when the server did not say. */
  expires_in: number | null;
  /** Date.now() when the response arrived: expiry is counted from here, never from the server's clock. */
  received_at: number;
}

export class OAuthError extends Error {
  constructor(
    readonly kind: 'permanent' | 'transient',
    /** The OAuth error code (invalid_grant, ...) or a short local one (network, http_503, bad_response). */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

const TRANSIENT_OAUTH_CODES = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);
const REQUEST_TIMEOUT_MS = 15_000;

export interface ClientAuth {
  clientId: string;
  clientSecret: string | null;
  method: TokenAuthMethod;
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function newPkce(): Pkce {
  const verifier = newSecret(48);
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizationUrl(base: string, p: { clientId: string; redirectUri: string; scopes: string[]; state: string; pkce: Pkce; extra?: Record<string, string> }): string {
  const url = new URL(base);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', p.clientId);
  url.searchParams.set('redirect_uri', p.redirectUri);
  if (p.scopes.length) url.searchParams.set('scope', p.scopes.join(' '));
  url.searchParams.set('state', p.state);
  url.searchParams.set('code_challenge', p.pkce.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  for (const [k, v] of Object.entries(p.extra ?? {})) url.searchParams.set(k, v);
  return url.toString();
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants for the Basic credentials too. */
const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

export async function requestToken(tokenUrl: string, client: ClientAuth, params: Record<string, string>, signal?: AbortSignal): Promise<TokenResponse> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (client.method === 'client_secret_basic' && client.clientSecret !== null) {
    headers.authorization = 'Basic ' + Buffer.from(`${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`).toString('base64');
  } else {
    body.set('client_id', client.clientId);
    if (client.clientSecret !== null) body.set('client_secret', client.clientSecret);
  }
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(tokenUrl, { method: 'POST', headers, body, redirect: 'error', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new OAuthError('transient', 'network', `token endpoint unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const receivedAt = Date.now();
  let json: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = await res.json();
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const code = typeof json?.error === 'string' ? json.error : null;
    const description = typeof json?.error_description === 'string' ? `: ${json.error_description}` : '';
    if (code) {
      const transient = TRANSIENT_OAUTH_CODES.has(code) || res.status >= 500 || res.status === 429;
      throw new OAuthError(transient ? 'transient' : 'permanent', code, `${code}${description}`);
    }
    const transient = res.status >= 500 || res.status === 429 || res.status === 408;
    throw new OAuthError(transient ? 'transient' : 'permanent', `http_${res.status}`, `token endpoint answered HTTP ${res.status}`);
  }
  if (!json || typeof json.access_token !== 'string' || !json.access_token) {
    throw new OAuthError('transient', 'bad_response', 'token endpoint answered without an access_token');
  }
  const expiresIn = Number(json.expires_in);
  return {
    access_token: json.access_token,
    refresh_token: typeof json.refresh_token === 'string' && json.refresh_token ? json.refresh_token : null,
    expires_in: json.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
    received_at: receivedAt,
  };
}
