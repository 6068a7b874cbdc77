// Strict clients this project did not write (panva's oauth4webapi and openid-client), one scenario per run.
//
//   node clients.mjs <scenario> < config.json
//
// The config (JSON on stdin) names the issuer, the clients and, for flows where a person is logged in,
// the session cookie of that person. Every check runs even when an earlier one failed; the last line
// printed is {"checks": {name: {ok, detail}}}. The device scenario prints its user code first, on a line
// of its own, and polls while the test approves it.
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'

const checks = {}

async function check(name, fn) {
  try {
    checks[name] = { ok: true, detail: (await fn()) ?? null }
  } catch (error) {
    checks[name] = { ok: false, detail: describe(error) }
  }
  return checks[name].ok ? checks[name].detail : undefined
}

function describe(error) {
  const out = { name: error?.name, code: error?.code, message: String(error?.message ?? error) }
  if (error?.error) out.error = error.error
  if (error?.status) out.status = error.status
  if (error?.cause && !(error.cause instanceof Response)) out.cause = error.cause
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    out.challenges = error.cause.map((c) => ({ scheme: c.scheme, parameters: c.parameters }))
  }
  return out
}

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

const insecure = { [oauth.allowInsecureRequests]: true } // the live server is plain http on loopback

async function readConfig() {
  let text = ''
  for await (const chunk of process.stdin) text += chunk
  return JSON.parse(text)
}

async function authorizationServer(issuer, algorithm = 'oidc') {
  const response = await oauth.discoveryRequest(new URL(issuer), { algorithm, ...insecure })
  return oauth.processDiscoveryResponse(new URL(issuer), response)
}

/** The person's browser, already logged in: /authorize answers with a redirect to the app. */
async function follow(url, cookie) {
  const response = await fetch(url, { headers: { cookie }, redirect: 'manual' })
  const location = response.headers.get('location')
  expect(response.status === 302 && location, `expected a redirect to the app, got ${response.status}`)
  return new URL(location, url)
}

async function bearerRequest(url, token) {
  return new Request(url, { headers: { authorization: `Bearer ${token}` } })
}

// -- scenarios -----------------------------------------------------------------------------------

const scenarios = {
  /** RFC 8414 §3 and OpenID Connect Discovery §4: both documents, validated by both libraries. */
  async discovery(config) {
    await check('rfc8414_3_oauth4webapi', async () => {
      const as = await authorizationServer(config.issuer, 'oauth2')
      return { issuer: as.issuer }
    })
    await check('oidc_discovery_4_oauth4webapi', async () => {
      const as = await authorizationServer(config.issuer, 'oidc')
      return { issuer: as.issuer }
    })
    await check('oidc_discovery_4_openid_client', async () => {
      const configuration = await client.discovery(new URL(config.issuer), 'conformance', undefined, undefined, {
        execute: [client.allowInsecureRequests],
      })
      return { issuer: configuration.serverMetadata().issuer }
    })
  },

  /** OpenID Connect Core §3.1 for a first-party app, end to end with openid-client. */
  async 'oidc-code'(config) {
    const configuration = await client.discovery(
      new URL(config.issuer),
      config.client_id,
      config.client_secret,
      client.ClientSecretBasic(config.client_secret),
      { execute: [client.allowInsecureRequests] },
    )
    const verifier = client.randomPKCECodeVerifier()
    const nonce = client.randomNonce()
    const state = client.randomState()
    const params = {
      redirect_uri: config.redirect_uri,
      scope: config.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      // Refresh tokens come only for an API that allows offline access (RFC 8707 names it).
      ...(config.resource ? { resource: config.resource } : {}),
    }
    const tokens = await check('oidc_core_3_1_code_flow', async () => {
      const callback = await follow(client.buildAuthorizationUrl(configuration, params), config.cookie)
      // Validates state, iss (RFC 9207, advertised), the code, then the ID token (§3.1.3.7) and its nonce.
      const tokens = await client.authorizationCodeGrant(configuration, callback, {
        pkceCodeVerifier: verifier,
        expectedNonce: nonce,
        expectedState: state,
        idTokenExpected: true,
      })
      return { ...tokens, claims: tokens.claims() }
    })
    await check('oidc_core_5_3_userinfo', async () => {
      expect(tokens, 'no tokens')
      return client.fetchUserInfo(configuration, tokens.access_token, tokens.claims.sub)
    })
    await check('oidc_core_12_refresh', async () => {
      expect(tokens?.refresh_token, 'no refresh token')
      const refreshed = await client.refreshTokenGrant(configuration, tokens.refresh_token)
      return { scope: refreshed.scope, id_token: Boolean(refreshed.id_token) }
    })
    await check('oidc_core_3_1_2_6_prompt_none_with_session', async () => {
      const silentState = client.randomState()
      const silentVerifier = client.randomPKCECodeVerifier()
      const url = client.buildAuthorizationUrl(configuration, {
        ...params,
        state: silentState,
        nonce: client.randomNonce(),
        prompt: 'none',
        code_challenge: await client.calculatePKCECodeChallenge(silentVerifier),
      })
      const callback = await follow(url, config.cookie)
      const silent = await client.authorizationCodeGrant(configuration, callback, {
        pkceCodeVerifier: silentVerifier,
        expectedNonce: url.searchParams.get('nonce'),
        expectedState: silentState,
        idTokenExpected: true,
      })
      return { sub: silent.claims().sub }
    })
    await check('rfc7009_2_revocation_openid_client', async () => {
      expect(tokens?.refresh_token, 'no refresh token')
      await client.tokenRevocation(configuration, tokens.refresh_token, { token_type_hint: 'refresh_token' })
      try {
        await client.refreshTokenGrant(configuration, tokens.refresh_token)
      } catch (error) {
        expect(error.error === 'invalid_grant', `refresh after revocation: ${error.error}`)
        return { refused: error.error }
      }
      throw new Error('the revoked refresh token still works')
    })
  },

  /** RFC 6749 §4.1 with PKCE (RFC 7636), resource (RFC 8707), for a strict third-party app, with oauth4webapi. */
  async 'oauth2-code'(config) {
    const as = await authorizationServer(config.issuer, 'oauth2')
    const app = { client_id: config.client_id }
    const auth = oauth.ClientSecretPost(config.client_secret)
    async function code(extra = {}) {
      const verifier = oauth.generateRandomCodeVerifier()
      const state = oauth.generateRandomState()
      const url = new URL(as.authorization_endpoint)
      const query = {
        response_type: 'code',
        client_id: config.client_id,
        redirect_uri: config.redirect_uri,
        scope: config.scope,
        resource: config.resource,
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...extra,
      }
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
      const callback = await follow(url, config.cookie)
      return { params: oauth.validateAuthResponse(as, app, callback, state), verifier }
    }
    async function exchange(params, verifier, clientAuth = auth) {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        app,
        clientAuth,
        params,
        config.redirect_uri,
        verifier,
        insecure,
      )
      return oauth.processAuthorizationCodeResponse(as, app, response)
    }
    const first = await check('rfc9207_2_iss_in_authorization_response', () => code())
    const tokens = await check('rfc6749_4_1_3_code_exchange', async () => {
      expect(first, 'no code')
      return exchange(first.params, first.verifier)
    })
    const api = { client_id: config.api_client_id }
    const apiAuth = oauth.ClientSecretBasic(config.api_client_secret)
    async function introspect(token) {
      const response = await oauth.introspectionRequest(as, api, apiAuth, token, insecure)
      return oauth.processIntrospectionResponse(as, api, response)
    }
    // A code of its own: a replay revokes what its first exchange issued (§4.1.2's SHOULD, which
    // Portcullis follows), so the tokens checked below must come from another code.
    await check('rfc6749_4_1_2_code_used_twice_is_invalid_grant_and_revokes_its_tokens', async () => {
      const replayed = await code()
      const issued = await exchange(replayed.params, replayed.verifier)
      try {
        await exchange(replayed.params, replayed.verifier)
      } catch (error) {
        expect(error.error === 'invalid_grant', `got ${error.error}`)
        const answer = await introspect(issued.access_token)
        expect(answer.active === false, 'the first exchange\'s access token is still active')
        return { error: error.error, status: error.status }
      }
      throw new Error('a used code was accepted again')
    })
    await check('rfc9068_2_jwt_access_token', async () => {
      expect(tokens, 'no tokens')
      const request = await bearerRequest(config.resource, tokens.access_token)
      return oauth.validateJwtAccessToken(as, request, config.resource, insecure)
    })
    await check('rfc7636_4_6_wrong_verifier_is_invalid_grant', async () => {
      const second = await code()
      try {
        await exchange(second.params, oauth.generateRandomCodeVerifier())
      } catch (error) {
        expect(error.error === 'invalid_grant', `got ${error.error}`)
        return { error: error.error }
      }
      throw new Error('a wrong code_verifier was accepted')
    })
    await check('rfc6749_5_2_invalid_client_basic_challenge', async () => {
      const third = await code()
      try {
        await exchange(third.params, third.verifier, oauth.ClientSecretBasic('not-the-secret'))
      } catch (error) {
        expect(error instanceof oauth.WWWAuthenticateChallengeError, `not a challenge: ${error.name}`)
        expect(error.response.status === 401, `status ${error.response.status}`)
        const schemes = error.cause.map((c) => c.scheme)
        expect(schemes.includes('basic'), `challenge schemes: ${schemes.join(', ')}`)
        return { schemes }
      }
      throw new Error('a wrong secret was accepted')
    })
    await check('rfc7662_2_2_introspection_active', async () => {
      expect(tokens, 'no tokens')
      const answer = await introspect(tokens.access_token)
      expect(answer.active === true, 'inactive')
      return answer
    })
    await check('rfc6749_6_refresh', async () => {
      expect(tokens?.refresh_token, 'no refresh token')
      const response = await oauth.refreshTokenGrantRequest(as, app, auth, tokens.refresh_token, insecure)
      return oauth.processRefreshTokenResponse(as, app, response)
    })
    await check('rfc7009_2_1_revoked_token_is_inactive', async () => {
      expect(tokens, 'no tokens')
      const response = await oauth.revocationRequest(as, app, auth, tokens.access_token, insecure)
      await oauth.processRevocationResponse(response)
      const answer = await introspect(tokens.access_token)
      expect(answer.active === false, 'still active after revocation')
      return answer
    })
  },

  /** RFC 6749 §4.4 with resource (RFC 8707), the token checked as RFC 9068 says. */
  async 'client-credentials'(config) {
    const as = await authorizationServer(config.issuer, 'oauth2')
    const app = { client_id: config.client_id }
    const tokens = await check('rfc6749_4_4_client_credentials', async () => {
      const params = new URLSearchParams({ resource: config.resource })
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        app,
        oauth.ClientSecretBasic(config.client_secret),
        params,
        insecure,
      )
      return oauth.processClientCredentialsResponse(as, app, response)
    })
    await check('rfc9068_2_jwt_access_token', async () => {
      expect(tokens, 'no tokens')
      const request = await bearerRequest(config.resource, tokens.access_token)
      return oauth.validateJwtAccessToken(as, request, config.resource, insecure)
    })
  },

  /** RFC 8628 with openid-client, for a first-party app asking for openid (an ID token, as the code flow). */
  async device(config) {
    const configuration = await client.discovery(new URL(config.issuer), config.client_id, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    })
    const started = await check('rfc8628_3_2_device_authorization_response', async () => {
      const response = await client.initiateDeviceAuthorization(configuration, {
        scope: config.scope,
        resource: config.resource,
      })
      expect(response.device_code && response.user_code && response.verification_uri, 'fields missing')
      return response
    })
    console.log(JSON.stringify({ user_code: started?.user_code ?? null }))
    if (!started) return
    await check('rfc8628_3_5_polling_until_approved', async () => {
      const tokens = await client.pollDeviceAuthorizationGrant(configuration, started, undefined, {
        signal: AbortSignal.timeout(30_000),
      })
      return { scope: tokens.scope, id_token: Boolean(tokens.id_token), claims: tokens.claims() ?? null }
    })
  },

  /** RFC 7591 §3 with oauth4webapi. */
  async registration(config) {
    const as = await authorizationServer(config.issuer, 'oauth2')
    await check('rfc7591_3_2_1_registration', async () => {
      const response = await oauth.dynamicClientRegistrationRequest(as, config.metadata, insecure)
      return oauth.processDynamicClientRegistrationResponse(response)
    })
  },

  /** RFC 9728 §3 and §5 with oauth4webapi: the metadata of an API protected by oauthcore.protect. */
  async 'protected-resource'(config) {
    const resource = new URL(config.resource)
    await check('rfc9728_3_metadata', async () => {
      const response = await oauth.resourceDiscoveryRequest(resource, insecure)
      const metadata = await oauth.processResourceDiscoveryResponse(resource, response)
      expect(metadata.authorization_servers?.includes(config.issuer), 'issuer not listed')
      return metadata
    })
    await check('rfc9728_5_1_challenge_names_the_metadata', async () => {
      try {
        const response = await oauth.protectedResourceRequest('not-a-token', 'GET', new URL(config.api_url), undefined, undefined, insecure)
        throw new Error(`no challenge, status ${response.status}`)
      } catch (error) {
        expect(error instanceof oauth.WWWAuthenticateChallengeError, describe(error).message)
        const bearer = error.cause.find((c) => c.scheme === 'bearer')
        expect(bearer?.parameters.resource_metadata, 'no resource_metadata in the Bearer challenge')
        return bearer.parameters
      }
    })
  },
}

const scenario = scenarios[process.argv[2]]
if (!scenario) {
  console.error(`unknown scenario ${process.argv[2]}; one of: ${Object.keys(scenarios).join(', ')}`)
  process.exit(2)
}
const config = await readConfig()
try {
  await scenario(config)
} catch (error) {
  checks.setup = { ok: false, detail: describe(error) }
}
console.log(JSON.stringify({ checks }))
