// panva's oidc-provider configured for machine-to-machine tokens, the peer `make bench` measures
// Portcullis' client credentials against: one confidential client, RS256 JWT access tokens for one
// resource (RFC 8707), one worker per core under Node's cluster module.
//
// Environment: BENCH_PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_RESOURCE (the API's URL).
// The primary makes the signing key and the cookie keys once and hands them to every worker, so a
// token signed by one worker verifies against the JWKS any other one serves.

import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.BENCH_PORT);
const issuer = `http://127.0.0.1:${port}`;

if (cluster.isPrimary) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };
  const env = {
    BENCH_JWKS: JSON.stringify({ keys: [jwk] }),
    BENCH_COOKIE_KEYS: JSON.stringify([randomBytes(32).toString('base64url')]),
  };
  for (let i = 0; i < availableParallelism(); i += 1) cluster.fork(env);
  cluster.on('exit', (worker, code, signal) => {
    if (!process.exitCode) console.error(`worker ${worker.process.pid} exited (${signal || code})`);
  });
  for (const name of ['SIGTERM', 'SIGINT']) {
    process.on(name, () => {
      process.exitCode = 0;
      for (const worker of Object.values(cluster.workers)) worker.kill();
      setTimeout(() => process.exit(0), 5000).unref();
    });
  }
} else {
  const resource = process.env.BENCH_RESOURCE;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: process.env.BENCH_CLIENT_ID,
        client_secret: process.env.BENCH_CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'read',
      },
    ],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: JSON.parse(process.env.BENCH_JWKS),
    cookies: { keys: JSON.parse(process.env.BENCH_COOKIE_KEYS) },
    scopes: ['read'],
    ttl: { ClientCredentials: 3600 },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: 'read',
            audience: resource,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  provider.listen(port, '127.0.0.1');
}
