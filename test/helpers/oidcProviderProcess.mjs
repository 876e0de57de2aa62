// A real OAuth2 / OpenID Connect server (oidc-provider, a certified implementation) in its own
// process, so its clock can be skewed (CLOCK_SKEW_MS) without touching the test's. The one test
// client and the options come from OIDC_OPTIONS (JSON). The user "logs in" and consents at once:
// the interaction route completes the provider's own login and consent prompts through its API.
// IPC: parent sends 'down' (stop listening, keep state) / 'up' (listen again on the same port).
import { createServer } from 'node:http';
import process from 'node:process';

const skew = Number(process.env.CLOCK_SKEW_MS ?? 0);
if (skew) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...args);
    }
    static now() {
      return RealDate.now() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}

const options = JSON.parse(process.env.OIDC_OPTIONS ?? '{}');
// Imported after the clock patch so the provider only ever sees the skewed clock.
const { default: Provider } = await import('oidc-provider');

let handler = null;
const server = createServer((req, res) => handler(req, res));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: options.clientId,
      client_secret: options.clientSecret,
      redirect_uris: [options.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: options.authMethod ?? 'client_secret_post',
    },
  ],
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['switchboard-test-cookie-key'] },
  ttl: { AccessToken: options.accessTtl ?? 3600, AuthorizationCode: 60, Grant: 86400, Interaction: 600, Session: 86400, RefreshToken: 86400 },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  pkce: { required: () => true },
});

const callback = provider.callback();

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: options.accountId ?? 'tester' } };
  } else {
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

handler = (req, res) => {
  if (req.method === 'GET' && /^\/interaction\/[^/?]+$/.test(req.url.split('?')[0])) {
    interaction(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }
  callback(req, res);
};

process.on('message', (msg) => {
  if (msg === 'down') {
    server.close(() => process.send('down'));
    server.closeAllConnections();
  } else if (msg === 'up') {
    server.listen(port, '127.0.0.1', () => process.send('up'));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, issuer });
