// The stored shape of a credential and the view every API returns (secrets never leave the service).

export const PROVIDERS = ['google-device-access', 'generic'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const TOKEN_AUTH_METHODS = ['client_secret_post', 'client_secret_basic'] as const;
export type TokenAuthMethod = (typeof TOKEN_AUTH_METHODS)[number];

export interface CredentialRecord {
  id: string;
  description: string;
  provider: Provider;
  client_id: string;
  /** SecretBox-sealed client secret, or null when none is set. */
  client_secret_enc: string | null;
  authorize_url: string;
  token_url: string;
  scopes: string[];
  project_id: string | null;
  token_auth_method: TokenAuthMethod;
  /** SecretBox-sealed JSON {access_token, refresh_token}, or null before authorization. */
  tokens_enc: string | null;
  authorized: boolean;
  /** Expiry of the access token by OUR clock (receipt time + expires_in), or null if it does not expire. */
  expires_at: string | null;
  /** expires_in of the last token response: the refresh margin is a share of it. */
  expires_in: number | null;
  last_error: string | null;
  needs_reauth: boolean;
  created_at: string;
  updated_at: string;
}

export interface CredentialView {
  id: string;
  description: string;
  provider: Provider;
  client_id: string;
  has_secret: boolean;
  authorize_url: string;
  token_url: string;
  scopes: string[];
  project_id: string | null;
  token_auth_method: TokenAuthMethod;
  authorized: boolean;
  expires_at: string | null;
  last_error: string | null;
  needs_reauth: boolean;
  created_at: string;
  updated_at: string;
}

export const toCredentialView = (r: CredentialRecord): CredentialView => ({
  id: r.id,
  description: r.description,
  provider: r.provider,
  client_id: r.client_id,
  has_secret: r.client_secret_enc !== null,
  authorize_url: r.authorize_url,
  token_url: r.token_url,
  scopes: r.scopes,
  project_id: r.project_id,
  token_auth_method: r.token_auth_method,
  authorized: r.authorized,
  expires_at: r.expires_at,
  last_error: r.last_error,
  needs_reauth: r.needs_reauth,
  created_at: r.created_at,
  updated_at: r.updated_at,
});
