"""RFC 6750 (userinfo), RFC 7009, RFC 7662, RFC 7591, RFC 7592, RFC 8414, RFC 8628 and RFC 9068 on the
wire, with authlib, requests-oauthlib and PyJWT where a Python client would be used."""

import jwt
import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from oauthcore.access_tokens import userinfo_audience
from tests.conformance.conftest import CALLBACK, DEVICE_GRANT, consented, post
from tests.conformance.test_rfc6749_wire import VERIFIER, authorize, redirect_params, token
from tests.e2e.oauth_helpers import oauth_client

pytestmark = pytest.mark.django_db(transaction=True)


def m2m_token(tenant) -> str:
    response = token(
        tenant,
        grant_type="client_credentials",
        client_id=tenant.m2m.client_id,
        client_secret=tenant.m2m.secret,
        audience=tenant.api.identifier,
    )
    return response.json()["access_token"]


def first_party_tokens(tenant, browser, scope="openid profile email", **params) -> dict:
    """A first-party app's tokens from the code flow, through authlib, Alice having consented before."""
    audience = params.get("audience") or userinfo_audience()
    consented(tenant, tenant.first_party, audience, scope.split())
    client = oauth_client(tenant.first_party.app, tenant.first_party.secret, CALLBACK, scope)
    url, _state = client.create_authorization_url(f"{tenant.issuer}/authorize", code_verifier=VERIFIER, **params)
    location = browser.session.get(url, allow_redirects=False, timeout=10).headers["Location"]
    return client.fetch_token(f"{tenant.issuer}/oauth/token", authorization_response=location, code_verifier=VERIFIER)


# -- RFC 8414 and OpenID Connect Discovery -------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])
def test_rfc8414_3_metadata_at_the_well_known_path_with_the_issuer(tenant, path):
    response = requests.get(f"{tenant.issuer}{path}", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    metadata = response.json()
    assert metadata["issuer"] == tenant.issuer
    for required in ("authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported"):
        assert metadata[required].startswith(tenant.issuer) if required != "response_types_supported" else True
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "registration_endpoint" not in metadata  # registration is off until the tenant turns it on


def test_rfc8414_2_registration_endpoint_is_listed_when_registration_is_on(tenant, registration_on):
    metadata = requests.get(f"{tenant.issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["registration_endpoint"] == f"{tenant.issuer}/oidc/register"


def test_oidc_discovery_3_claims_supported_lists_every_claim_returned(tenant, browser):
    """Issue 14 point 8: ``claims_supported`` names every claim of the ID token and of userinfo."""
    tokens = first_party_tokens(tenant, browser, nonce="n-1")
    id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    info = requests.get(
        f"{tenant.issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    ).json()
    supported = set(
        requests.get(f"{tenant.issuer}/.well-known/openid-configuration", timeout=10).json()["claims_supported"]
    )
    registered = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash", "azp", "jti", "sid"}
    assert set(info) - supported == set()
    assert set(id_claims) - supported - registered == set()


# -- RFC 9068 with PyJWT -------------------------------------------------------------------------


def test_rfc9068_2_access_token_is_at_jwt_with_its_claims_verified_by_pyjwt(tenant):
    access_token = m2m_token(tenant)
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"
    key = jwt.PyJWKClient(f"{tenant.issuer}/.well-known/jwks.json").get_signing_key_from_jwt(access_token)
    claims = jwt.decode(
        access_token,
        key.key,
        algorithms=["RS256"],
        audience=tenant.api.identifier,
        issuer=tenant.issuer,
        options={"require": ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]},
    )
    assert claims["client_id"] == tenant.m2m.client_id and claims["scope"] == "read:orders"


# -- OpenID Connect Core with authlib and PyJWT, for first-party apps -----------------------------


def test_oidc_core_3_1_3_7_id_token_verified_by_pyjwt(tenant, browser):
    tokens = first_party_tokens(tenant, browser, nonce="n-2")
    header = jwt.get_unverified_header(tokens["id_token"])
    key = jwt.PyJWKClient(f"{tenant.issuer}/.well-known/jwks.json").get_signing_key_from_jwt(tokens["id_token"])
    claims = jwt.decode(
        tokens["id_token"],
        key.key,
        algorithms=[header["alg"]],
        audience=tenant.first_party.client_id,
        issuer=tenant.issuer,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )
    assert claims["nonce"] == "n-2" and claims["sub"] == tenant.user.user_id


def test_oidc_core_deviation_strict_third_party_apps_get_no_id_token(tenant, browser):
    """Deliberate: strict third-party apps get no OpenID Connect (``openid`` is dropped)."""
    consented(tenant, tenant.strict, tenant.api.identifier, ["read:orders"])
    client = oauth_client(tenant.strict.app, tenant.strict.secret, CALLBACK, "openid read:orders")
    url, _ = client.create_authorization_url(
        f"{tenant.issuer}/authorize", code_verifier=VERIFIER, audience=tenant.api.identifier
    )
    location = browser.session.get(url, allow_redirects=False, timeout=10).headers["Location"]
    tokens = client.fetch_token(f"{tenant.issuer}/oauth/token", authorization_response=location, code_verifier=VERIFIER)
    assert "id_token" not in tokens and tokens["scope"] == "read:orders"


# -- RFC 6750 at /userinfo -----------------------------------------------------------------------


def test_rfc6750_2_1_and_oidc_core_5_3_2_userinfo_with_the_authorization_header(tenant, browser):
    tokens = first_party_tokens(tenant, browser)
    response = requests.get(
        f"{tenant.issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.json()["sub"] == tenant.user.user_id


@pytest.mark.parametrize("where", ["query", "form"])
def test_rfc6750_2_2_and_2_3_tokens_outside_the_header_are_refused(tenant, browser, where):
    """The README promises bearer tokens "never in a URL" (issue 14 point 6)."""
    access_token = first_party_tokens(tenant, browser)["access_token"]
    if where == "query":
        response = requests.get(f"{tenant.issuer}/userinfo", params={"access_token": access_token}, timeout=10)
    else:
        response = post(f"{tenant.issuer}/userinfo", data={"access_token": access_token})
    assert response.status_code in (400, 401)
    assert "sub" not in response.text


def test_rfc6750_3_without_credentials_the_challenge_has_no_error_code(tenant):
    """§3.1: a request with no authentication SHOULD NOT carry an error code (issue 14 point 6)."""
    response = requests.get(f"{tenant.issuer}/userinfo", timeout=10)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer") and "error=" not in challenge


def test_rfc6750_3_1_invalid_token_is_401_invalid_token(tenant):
    response = requests.get(f"{tenant.issuer}/userinfo", headers={"Authorization": "Bearer forged"}, timeout=10)
    assert response.status_code == 401
    assert (
        response.headers["WWW-Authenticate"].startswith("Bearer")
        and 'error="invalid_token"' in (response.headers["WWW-Authenticate"])
    )


def test_rfc6750_3_1_bearer_without_a_token_is_400_invalid_request(tenant):
    """Issue 14 point 6."""
    response = requests.get(f"{tenant.issuer}/userinfo", headers={"Authorization": "Bearer "}, timeout=10)
    assert response.status_code == 400 and 'error="invalid_request"' in response.headers.get("WWW-Authenticate", "")


def test_rfc6750_3_1_token_without_openid_is_403_insufficient_scope(tenant, browser):
    """Issue 14 point 6: a valid token without ``openid`` is ``insufficient_scope``."""
    access_token = first_party_tokens(tenant, browser, scope="read:orders", audience=tenant.api.identifier)[
        "access_token"
    ]
    response = requests.get(
        f"{tenant.issuer}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers.get("WWW-Authenticate", "")


# -- RFC 7009 ------------------------------------------------------------------------------------


def test_rfc7009_2_1_revoking_a_refresh_token_stops_it(tenant, browser):
    tokens = first_party_tokens(tenant, browser, scope="read:orders offline_access", audience=tenant.api.identifier)
    response = post(
        f"{tenant.issuer}/oauth/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(tenant.first_party.client_id, tenant.first_party.secret),
    )
    assert response.status_code == 200
    again = token(
        tenant,
        grant_type="refresh_token",
        refresh_token=tokens["refresh_token"],
        client_id=tenant.first_party.client_id,
        client_secret=tenant.first_party.secret,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_rfc7009_2_2_an_unknown_token_is_answered_200(tenant):
    response = post(
        f"{tenant.issuer}/oauth/revoke", data={"token": "never-issued"}, auth=(tenant.m2m.client_id, tenant.m2m.secret)
    )
    assert response.status_code == 200


def test_rfc7009_2_1_a_client_cannot_revoke_another_clients_token(tenant):
    access_token = m2m_token(tenant)
    post(
        f"{tenant.issuer}/oauth/revoke",
        data={"token": access_token},
        auth=(tenant.strict.client_id, tenant.strict.secret),
    )
    answer = post(
        f"{tenant.issuer}/oauth/introspect",
        data={"token": access_token},
        auth=(tenant.api_client.client_id, tenant.api_client.secret),
    ).json()
    assert answer["active"] is True


def test_rfc7009_2_2_1_invalid_client_is_401_with_basic_challenge(tenant):
    """RFC 7009 §2.2.1 refers to RFC 6749 §5.2 (issue 14 point 3)."""
    response = post(f"{tenant.issuer}/oauth/revoke", data={"token": "x"}, auth=(tenant.m2m.client_id, "wrong"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_rfc7009_2_1_missing_token_is_invalid_request(tenant):
    response = post(f"{tenant.issuer}/oauth/revoke", data={}, auth=(tenant.m2m.client_id, tenant.m2m.secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# -- RFC 7662 ------------------------------------------------------------------------------------


def test_rfc7662_2_1_introspection_requires_client_authentication(tenant):
    response = post(f"{tenant.issuer}/oauth/introspect", data={"token": m2m_token(tenant)})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_rfc7662_2_2_active_token_response(tenant):
    response = post(
        f"{tenant.issuer}/oauth/introspect",
        data={"token": m2m_token(tenant)},
        auth=(tenant.api_client.client_id, tenant.api_client.secret),
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    answer = response.json()
    assert answer["active"] is True and answer["client_id"] == tenant.m2m.client_id
    assert answer["aud"] == tenant.api.identifier and answer["iss"] == tenant.issuer
    assert isinstance(answer["exp"], int) and answer["scope"] == "read:orders"


def test_rfc7662_2_2_unknown_token_is_only_active_false(tenant):
    response = post(
        f"{tenant.issuer}/oauth/introspect",
        data={"token": "never-issued"},
        auth=(tenant.api_client.client_id, tenant.api_client.secret),
    )
    assert response.status_code == 200 and response.json() == {"active": False}


# -- RFC 7591 and RFC 7592 -----------------------------------------------------------------------


def register(tenant, **metadata):
    body = {"client_name": "Agent", "redirect_uris": [CALLBACK], **metadata}
    return post(f"{tenant.issuer}/oidc/register", json=body)


def test_rfc7591_3_2_1_confidential_registration(tenant, registration_on):
    response = register(tenant, grant_types=["authorization_code", "refresh_token"])
    assert response.status_code == 201 and response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["client_id"] and body["client_secret"] and body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == [CALLBACK] and body["registration_access_token"]
    assert body["registration_client_uri"] == f"{tenant.issuer}/oidc/register/{body['client_id']}"


def test_rfc7591_3_2_2_bad_redirect_uri_is_invalid_redirect_uri(tenant, registration_on):
    response = register(tenant, redirect_uris=["http://example.com/cb"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"


def test_rfc7591_3_2_2_bad_metadata_is_invalid_client_metadata(tenant, registration_on):
    response = register(tenant, grant_types=["client_credentials"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


def test_rfc7591_deviation_registration_off_is_403_access_denied(tenant):
    response = register(tenant)
    assert response.status_code == 403 and response.json()["error"] == "access_denied"


def test_rfc7592_2_read_update_delete_with_the_registration_access_token(tenant, registration_on):
    registered = register(tenant).json()
    uri, auth = (
        registered["registration_client_uri"],
        {"Authorization": f"Bearer {registered['registration_access_token']}"},
    )
    read = requests.get(uri, headers=auth, timeout=10)
    assert read.status_code == 200 and read.json()["client_id"] == registered["client_id"]
    assert "client_secret" not in read.json()  # deliberate: stored hashed, shown once
    update = {"client_id": registered["client_id"], "client_name": "Renamed", "redirect_uris": [CALLBACK]}
    updated = requests.put(uri, headers=auth, json=update, timeout=10)
    assert updated.status_code == 200 and updated.json()["client_name"] == "Renamed"
    assert requests.delete(uri, headers=auth, timeout=10).status_code == 204
    assert requests.get(uri, headers=auth, timeout=10).status_code == 401


def test_rfc7592_2_a_wrong_registration_access_token_is_401(tenant, registration_on):
    registered = register(tenant).json()
    response = requests.get(
        registered["registration_client_uri"], headers={"Authorization": "Bearer wrong"}, timeout=10
    )
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


# -- RFC 8628 ------------------------------------------------------------------------------------


def test_rfc8628_3_2_and_3_5_device_authorization_then_authorization_pending(tenant):
    response = post(
        f"{tenant.issuer}/oauth/device/code",
        data={"client_id": tenant.device.client_id, "scope": "read:orders", "audience": tenant.api.identifier},
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert {"device_code", "user_code", "verification_uri", "expires_in"} <= set(body)
    poll = token(tenant, grant_type=DEVICE_GRANT, device_code=body["device_code"], client_id=tenant.device.client_id)
    assert poll.status_code == 400 and poll.json()["error"] == "authorization_pending"


def test_rfc8628_deviation_strict_third_party_apps_are_unauthorized_client(tenant):
    response = post(
        f"{tenant.issuer}/oauth/device/code",
        data={
            "client_id": tenant.strict.client_id,
            "client_secret": tenant.strict.secret,
            "scope": "read:orders",
            "audience": tenant.api.identifier,
        },
    )
    assert response.status_code in (400, 403) and response.json()["error"] == "unauthorized_client"


# -- requests-oauthlib ---------------------------------------------------------------------------


def test_rfc6749_4_4_client_credentials_with_requests_oauthlib(tenant, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http on loopback
    session = OAuth2Session(client=BackendApplicationClient(client_id=tenant.m2m.client_id))
    tokens = session.fetch_token(
        f"{tenant.issuer}/oauth/token",
        client_id=tenant.m2m.client_id,
        client_secret=tenant.m2m.secret,
        audience=tenant.api.identifier,
    )
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == ["read:orders"]


def test_rfc6749_4_1_and_rfc7636_code_flow_with_requests_oauthlib(tenant, browser, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server is plain http on loopback
    consented(tenant, tenant.strict, tenant.api.identifier, ["read:orders"])
    session = OAuth2Session(tenant.strict.client_id, redirect_uri=CALLBACK, scope=["read:orders"], pkce="S256")
    url, state = session.authorization_url(f"{tenant.issuer}/authorize", audience=tenant.api.identifier)
    params = redirect_params(browser.session.get(url, allow_redirects=False, timeout=10))
    assert params["state"] == state and params["iss"] == tenant.issuer
    location = browser.session.get(url, allow_redirects=False, timeout=10).headers["Location"]
    tokens = session.fetch_token(
        f"{tenant.issuer}/oauth/token",
        authorization_response=location,
        client_secret=tenant.strict.secret,
        include_client_id=True,
    )
    assert tokens["scope"] == ["read:orders"] and tokens["token_type"] == "Bearer"


# -- issue 14 point 9: bad bytes in each surface's own shape ------------------------------------


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_nul_bytes_at_the_oauth_endpoints_are_oauth_json_errors(tenant, path):
    response = post(
        f"{tenant.issuer}{path}",
        data={"grant_type": "client_credentials", "token": "a\x00b", "audience": "x\x00"},
        auth=(tenant.m2m.client_id, tenant.m2m.secret),
    )
    assert 400 <= response.status_code < 500 and response.headers["Content-Type"].startswith("application/json")
    assert "error" in response.json()


def test_nul_bytes_in_a_registration_are_an_rfc7591_error(tenant, registration_on):
    response = register(tenant, client_name="a\x00b")
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_request")


def test_a_post_to_an_unknown_management_path_is_the_json_404_envelope(tenant):
    response = post(f"{tenant.issuer}/api/v2/no-such-thing", json={})
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("application/json")
    assert response.json()["statusCode"] == 404


def test_rfc6749_4_1_2_1_unknown_client_is_never_redirected(requests_session, tenant):
    """RFC 6749 §4.1.2.1: an error for an unknown client is never redirected."""
    response = authorize(requests_session, tenant, tenant.open, client_id="unknown-client")
    assert response.status_code == 400 and "Location" not in response.headers
