// panva's oidc-provider as a customer's own identity provider, the one the `oidc` strategy's tests
// sign in at: confidential clients (authorization code, PKCE required), accounts with passwords and
// claims, and a small sign-in page of its own that a test can fill in over plain HTTP or in a browser.
//
// Environment:
//   OIDC_PORT      the loopback port; the issuer is http://127.0.0.1:<port>
//   OIDC_CLIENTS   JSON list of {client_id, client_secret, redirect_uris, token_endpoint_auth_method}
//   OIDC_ACCOUNTS  JSON object login -> {password, claims, userinfo}: `claims` go in the ID token and
//                  the userinfo response, `userinfo` only in the userinfo response
//
// Every client is trusted by the customer's administrator: a signed-in account is sent straight back
// with the scopes asked for (no consent page at the provider). "Cancel" on the sign-in page answers
// error=access_denied, as a person declining would.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);
const clients = JSON.parse(process.env.OIDC_CLIENTS).map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  ...client,
}));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'idp-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile', 'email', 'directory'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'nickname', 'picture'],
    directory: ['mail', 'department'],
  },
  // The requested claims go in the ID token too, as most enterprise providers do.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims(use) {
        return { ...account.claims, ...(use === 'userinfo' ? account.userinfo : {}), sub: id };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    await grant.save();
    return grant;
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, uid, message = '') {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><title>Sign in to the identity provider</title></head><body>
<h1>Sign in to the identity provider</h1>
${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input name="login" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Cancel</button></form>
</body></html>`);
}

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const [, , uid, action] = new URL(req.url, issuer).pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'login') {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`unexpected interaction ${details.prompt.name}`);
  } else if (req.method === 'GET' && !action) {
    page(res, 200, uid);
  } else if (req.method === 'POST' && action === 'login') {
    const fields = await form(req);
    const account = accounts[fields.get('login')];
    if (!account || account.password !== fields.get('password')) {
      page(res, 401, uid, 'Wrong username or password.');
    } else {
      await provider.interactionFinished(req, res, { login: { accountId: fields.get('login') } });
    }
  } else if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'The user cancelled the sign-in',
    });
  } else {
    res.writeHead(405, { 'Content-Type': 'text/plain' });
    res.end('method not allowed');
  }
}

const callback = provider.callback();
createServer((req, res) => {
  if (!req.url.startsWith('/interaction/')) return callback(req, res);
  return interaction(req, res).catch((error) => {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`interaction failed: ${error.message}`);
  });
}).listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));

for (const name of ['SIGTERM', 'SIGINT']) process.on(name, () => process.exit(0));
