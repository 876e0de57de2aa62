// Parent side of oidcProviderProcess.mjs: starts the real OAuth2 server, finds its endpoints by
// discovery, and plays the user's browser through the authorization (cookies and redirects by hand).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface OAuthServerOptions {
  redirectUri: string;
  clientId?: string;
  clientSecret?: string;
  authMethod?: 'client_secret_post' | 'client_secret_basic';
  /** Access token lifetime in seconds. */
  accessTtl?: number;
  /** How far the server's clock is off ours, in ms. */
  clockSkewMs?: number;
}

export interface OAuthServer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  userinfoEndpoint: string;
  /** Stops listening (connections refused) but keeps every grant. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Revokes a token at the server (RFC 7009), as a user removing the app's access would. */
  revoke(token: string): Promise<void>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./oidcProviderProcess.mjs', import.meta.url));

function reply(child: ChildProcess, want: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if (m === want) {
        child.off('message', onMsg);
        resolve();
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`OAuth server exited (${code})`)));
  });
}

export async function startOAuthServer(opts: OAuthServerOptions): Promise<OAuthServer> {
  const clientId = opts.clientId ?? 'switchboard-test';
  const clientSecret = opts.clientSecret ?? 'switchboard-test-secret-0123456789';
  const child = fork(SCRIPT, [], {
    env: { ...process.env, CLOCK_SKEW_MS: String(opts.clockSkewMs ?? 0), OIDC_OPTIONS: JSON.stringify({ ...opts, clientId, clientSecret }) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { issuer: string }).issuer));
    child.once('exit', (code) => reject(new Error(`OAuth server failed to start (${code}): ${stderr}`)));
  });
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
  const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  return {
    issuer,
    clientId,
    clientSecret,
    authorizationEndpoint: discovery.authorization_endpoint!,
    tokenEndpoint: discovery.token_endpoint!,
    revocationEndpoint: discovery.revocation_endpoint!,
    userinfoEndpoint: discovery.userinfo_endpoint!,
    async down() {
      const done = reply(child, 'down');
      child.send('down');
      await done;
    },
    async up() {
      const done = reply(child, 'up');
      child.send('up');
      await done;
    },
    async revoke(token: string) {
      const res = await fetch(discovery.revocation_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
      });
      if (res.status !== 200) throw new Error(`revocation failed: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Plays the browser: opens the authorization URL and follows redirects (carrying cookies) until
 * the server sends the user back to `redirectPrefix`; returns that final URL without opening it.
 */
export async function authorizeAsUser(authorizationUrl: string, redirectPrefix: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = authorizationUrl;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(redirectPrefix)) return url;
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) throw new Error(`authorization stopped at ${url}: HTTP ${res.status} ${await res.text()}`);
    url = new URL(location, url).toString();
  }
  throw new Error('too many redirects during authorization');
}
