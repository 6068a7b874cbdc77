"""The token, revocation, introspection, device authorization, registration and userinfo endpoints,
discovery and the management API, as strict outside clients (authlib, requests-oauthlib, PyJWT)
and the raw wire see them. Each test names the section it checks."""

import time
from urllib.parse import urlencode

import jwt
import pyotp
import pytest
import requests
from django.test import Client
from oauthlib.oauth2 import LegacyApplicationClient
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, GrantType, SubjectType, UserPolicy
from oauthcore.models import AccessToken, Connection, TenantSettings
from oauthcore.services.applications import application_create, application_update
from oauthcore.services.mfa import totp_enroll_confirm, totp_enroll_start
from oauthcore.services.tenant import tenant_settings_update
from tests.e2e.oauth_helpers import Browser, oauth_client

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:9999/callback"
VERIFIER = "v" * 50
DEVICE_GRANT = GrantType.DEVICE_CODE.value
# The endpoints a client authenticates to (RFC 6749 §2.3), with a request each would otherwise accept.
CLIENT_ENDPOINTS = {
    "/oauth/token": {"grant_type": "client_credentials"},
    "/oauth/revoke": {"token": "some-token"},
    "/oauth/introspect": {"token": "some-token"},
    "/oauth/device/code": {"scope": "openid"},
}


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:orders", "Read your orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )


@pytest.fixture
def machine(actor, orders, make_grant):
    """A confidential machine client (client_secret_post) with a grant on the Orders API."""
    issued = application_create(actor=actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=issued.application, scope=["read:orders"])
    return issued


@pytest.fixture
def web_app(actor):
    """A first-party confidential web app (OpenID Connect)."""
    return application_create(actor=actor, name="Own App", app_type=AppType.REGULAR_WEB, callbacks=[CALLBACK])


@pytest.fixture
def fast_polling(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "DEVICE_POLL_INTERVAL": 1}


@pytest.fixture
def debug_on(settings):
    """As ``make run`` serves: Django's own error pages are its HTML debug pages then."""
    settings.DEBUG = True


def code_flow_token(live_server, issued, scope: str, *, otp: str | None = None, **params) -> dict:
    """authlib's code flow for ``issued``, through alice's login (with ``otp`` when she has an
    authenticator app) and consent."""
    client = oauth_client(issued.application, issued.client_secret, CALLBACK, scope)
    url, _state = client.create_authorization_url(f"{live_server.url}/authorize", code_verifier=VERIFIER, **params)
    browser = Browser(live_server.url)
    outcome = browser.authorize(url, username="alice", otp=otp)
    if outcome.kind == "consent":
        outcome = browser.answer_consent(outcome, accept=True)
    assert outcome.kind == "redirect", outcome.page_text
    return client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=outcome.location, code_verifier=VERIFIER
    )


def verified_id_token(live_server, token: str, audience: str) -> dict:
    """PyJWT, with nothing but the published JWKS (OpenID Connect Core §3.1.3.7)."""
    key = jwt.PyJWKClient(f"{live_server.url}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=ISSUER)


def device_id_token_answer(live_server, alice, app, scope: str) -> dict:
    """RFC 8628 §3.1-§3.5 over the wire: the device asks, alice approves at /activate, the device polls."""
    authorization = requests.post(
        f"{live_server.url}/oauth/device/code", data={"client_id": app.client_id, "scope": scope}, timeout=10
    ).json()
    person = Client()
    person.force_login(alice)
    person.post("/activate", {"user_code": authorization["user_code"]})
    person.post("/activate", {"user_code": authorization["user_code"], "decision": "accept", "scope": scope.split()})
    poll = {"grant_type": DEVICE_GRANT, "device_code": authorization["device_code"], "client_id": app.client_id}
    answer = requests.post(f"{live_server.url}/oauth/token", data=poll, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- invalid_client: RFC 6749 §5.2 ---------------------------------------------------------------


@pytest.mark.parametrize("path", CLIENT_ENDPOINTS)
def test_invalid_client_over_basic_is_challenged_in_basic(live_server, machine, path):
    """RFC 6749 §5.2: a client that tried HTTP Basic and failed gets 401 with a ``WWW-Authenticate``
    challenge "matching the authentication scheme used by the client": ``Basic``, never ``Bearer``."""
    response = requests.post(
        f"{live_server.url}{path}",
        data=CLIENT_ENDPOINTS[path],
        auth=(machine.application.client_id, "wrong secret"),
        timeout=10,
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", CLIENT_ENDPOINTS)
def test_invalid_client_in_the_body_is_401_with_the_basic_challenge(live_server, machine, path):
    """RFC 6749 §5.2 and RFC 9110 §15.5.2: client_secret_post failures are 401 invalid_client too, and
    a 401 carries a challenge: ``Basic``, the one HTTP scheme these endpoints take (no ``Bearer``)."""
    credentials = {"client_id": machine.application.client_id, "client_secret": "wrong secret"}
    response = requests.post(f"{live_server.url}{path}", data={**CLIENT_ENDPOINTS[path], **credentials}, timeout=10)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="oauth"'


def test_the_registration_endpoints_challenge_in_bearer(live_server, web_app):
    """RFC 7592 §2 and RFC 6750 §3: the registration access token is a bearer token, so a client
    presenting Basic credentials there is challenged in ``Bearer``, without an error code (§3.1)."""
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})
    url = f"{live_server.url}/oidc/register/{web_app.application.client_id}"
    basic = requests.get(url, auth=(web_app.application.client_id, web_app.client_secret), timeout=10)
    assert basic.status_code == 401 and basic.headers["WWW-Authenticate"] == 'Bearer realm="registration"'
    wrong = requests.get(url, headers={"Authorization": "Bearer not-the-token"}, timeout=10)
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]


# -- token endpoint error codes: RFC 6749 §5.2 and §3.2 -----------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_a_missing_grant_type_is_invalid_request(live_server, machine, as_json):
    """RFC 6749 §5.2: a request "missing a required parameter" is ``invalid_request``; only a grant
    type the server does not know is ``unsupported_grant_type``."""
    body = {"client_id": machine.application.client_id, "client_secret": machine.client_secret}
    sent = {"json": body} if as_json else {"data": body}
    response = requests.post(f"{live_server.url}/oauth/token", timeout=10, **sent)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "Missing grant_type parameter."}


@pytest.mark.parametrize("grant_type", ["password", "implicit", "foo", "urn:ietf:params:oauth:grant-type:jwt-bearer"])
def test_a_grant_type_no_app_may_use_is_unsupported_grant_type(live_server, machine, grant_type):
    """RFC 6749 §5.2: "The authorization grant type is not supported by the authorization server"
    is ``unsupported_grant_type`` (the password grant used to answer invalid_grant)."""
    body = {
        "grant_type": grant_type,
        "username": "alice",
        "password": "x",
        "client_id": machine.application.client_id,
        "client_secret": machine.client_secret,
    }
    response = requests.post(f"{live_server.url}/oauth/token", data=body, timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_requests_oauthlib_reads_the_password_grant_as_unsupported(live_server, machine, alice, monkeypatch):
    """RFC 6749 §4.3 and §5.2, as requests-oauthlib's password grant client reads the answer: its
    error class is chosen by the error code."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain HTTP
    session = RequestsOAuth2Session(client=LegacyApplicationClient(client_id=machine.application.client_id))
    with pytest.raises(oauthlib_errors.UnsupportedGrantTypeError):
        session.fetch_token(
            f"{live_server.url}/oauth/token",
            username="alice",
            password="a long demo passphrase 1",
            client_id=machine.application.client_id,
            client_secret=machine.client_secret,
            include_client_id=True,
        )


def test_a_grant_type_the_app_may_not_use_stays_unauthorized_client(live_server, actor):
    """Auth0's behaviour, kept on purpose: a grant type the server supports but this app may not use
    is 403 ``unauthorized_client`` (RFC 6749 §5.2 names the code; the status is Auth0's)."""
    web = application_create(
        actor=actor, name="Web", app_type=AppType.REGULAR_WEB, callbacks=[CALLBACK], grant_types=["authorization_code"]
    )
    body = {"grant_type": "client_credentials"}
    auth = (web.application.client_id, web.client_secret)
    response = requests.post(f"{live_server.url}/oauth/token", data=body, auth=auth, timeout=10)
    assert response.status_code == 403
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "Grant type 'client_credentials' not allowed for the client.",
    }


@pytest.mark.parametrize("repeated", ["grant_type", "client_id", "audience", "scope"])
def test_a_repeated_token_parameter_is_invalid_request(live_server, machine, orders, repeated):
    """RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once"; such a
    request is ``invalid_request`` (§5.2), however the values compare."""
    fields = {
        "grant_type": "client_credentials",
        "client_id": machine.application.client_id,
        "client_secret": machine.client_secret,
        "audience": orders.identifier,
        "scope": "read:orders",
    }
    pairs = [*fields.items(), (repeated, fields[repeated])]
    response = requests.post(
        f"{live_server.url}/oauth/token",
        data=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Parameters sent more than once: {repeated}.",
    }
    assert not AccessToken.objects.exists()


def test_a_member_repeated_in_a_json_token_request_is_invalid_request(live_server, machine, orders):
    """RFC 6749 §3.2 for the JSON bodies Auth0 accepts: a name given twice is a repeated parameter
    (RFC 8259 §4: such an object's meaning is unpredictable)."""
    app = machine.application
    body = (
        f'{{"grant_type": "client_credentials", "client_id": "{app.client_id}", '
        f'"client_secret": "{machine.client_secret}", "audience": "{orders.identifier}", "audience": "other"}}'
    )
    response = requests.post(
        f"{live_server.url}/oauth/token", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_resource_may_be_repeated(live_server, machine, orders):
    """RFC 8707 §2: ``resource`` alone may be sent more than once; Portcullis issues one API per
    token, so two are ``invalid_target``, not a malformed request."""
    pairs = [
        ("grant_type", "client_credentials"),
        ("client_id", machine.application.client_id),
        ("client_secret", machine.client_secret),
        ("resource", orders.identifier),
        ("resource", "https://billing.example.com/"),
    ]
    response = requests.post(
        f"{live_server.url}/oauth/token",
        data=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect", "/oauth/device/code"])
def test_a_repeated_parameter_is_invalid_request_at_every_client_endpoint(live_server, machine, path):
    """RFC 6749 §3.2 at the endpoints that share the token endpoint's conventions: revocation
    (RFC 7009 §2.1), introspection (RFC 7662 §2.1) and device authorization (RFC 8628 §3.1)."""
    name = "scope" if path == "/oauth/device/code" else "token"
    pairs = [(name, "one"), (name, "two")]
    response = requests.post(
        f"{live_server.url}{path}",
        data=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(machine.application.client_id, machine.client_secret),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Parameters sent more than once: {name}.",
    }


# -- /userinfo: RFC 6750 and OpenID Connect Core §5.3 --------------------------------------------


@pytest.fixture
def openid_token(live_server, web_app, alice):
    return code_flow_token(live_server, web_app, "openid profile email")


def userinfo(live_server, method="GET", **kwargs):
    return requests.request(method, f"{live_server.url}/userinfo", timeout=10, **kwargs)


def test_userinfo_without_credentials_is_a_bare_challenge(live_server):
    """RFC 6750 §3.1: "If the request lacks any authentication information ..., the resource server
    SHOULD NOT include an error code or other error information" in the challenge; the body is JSON."""
    response = userinfo(live_server)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="userinfo"'
    assert response.headers["Content-Type"] == "application/json" and "error" not in response.json()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_takes_the_token_from_the_authorization_header(live_server, openid_token, alice, method):
    """RFC 6750 §2.1 and OpenID Connect Core §5.3.1: GET and POST, the token in the header."""
    response = userinfo(live_server, method, headers={"Authorization": f"Bearer {openid_token['access_token']}"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json()["sub"] == alice.user_id and response.json()["email"] == "alice@example.com"


def test_userinfo_refuses_a_token_in_the_query(live_server, openid_token):
    """RFC 6750 §2.3 (optional, and RFC 9700 §4.3.2: not in a URL): a token in the query is refused as
    an unsupported parameter (§3.1 ``invalid_request``), never used."""
    response = userinfo(live_server, params={"access_token": openid_token["access_token"]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="userinfo", error="invalid_request"')
    assert "sub" not in response.json()


def test_userinfo_refuses_a_token_in_the_form_body(live_server, openid_token):
    """RFC 6750 §2.2 (optional): Portcullis takes no token in a form body either."""
    response = userinfo(live_server, "POST", data={"access_token": openid_token["access_token"]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_userinfo_refuses_a_token_sent_two_ways(live_server, openid_token):
    """RFC 6750 §3.1: a request that "uses more than one method for including an access token" is
    ``invalid_request``."""
    token = openid_token["access_token"]
    response = userinfo(live_server, headers={"Authorization": f"Bearer {token}"}, params={"access_token": token})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer two words"])
def test_a_bearer_header_without_a_token_is_invalid_request(live_server, header):
    """RFC 6750 §2.1 (``Bearer 1*SP b64token``) and §3.1: a malformed request is 400 ``invalid_request``."""
    response = userinfo(live_server, headers={"Authorization": header})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert response.headers["Content-Type"] == "application/json"
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_an_invalid_or_expired_token_is_invalid_token(live_server, openid_token):
    """RFC 6750 §3.1: "expired, revoked, malformed, or invalid" is 401 ``invalid_token``, in JSON."""
    AccessToken.objects.update(expires="2000-01-01T00:00:00Z")
    for token in ("not-a-token", openid_token["access_token"]):
        response = userinfo(live_server, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="userinfo", error="invalid_token"')


def test_a_token_without_openid_is_insufficient_scope(live_server, web_app, orders, make_grant, alice):
    """RFC 6750 §3.1 and OpenID Connect Core §5.3: a valid token without ``openid`` is 403
    ``insufficient_scope``, naming the scope needed."""
    make_grant(orders, client=web_app.application, scope=["read:orders"], subject_type=SubjectType.USER)
    token = code_flow_token(live_server, web_app, "read:orders", audience=orders.identifier)
    response = userinfo(live_server, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="userinfo", error="insufficient_scope", '
        'error_description="The access token has no openid scope.", scope="openid"'
    )


def test_strict_third_party_tokens_stay_refused_at_userinfo(live_server, actor, orders, make_grant, alice):
    """Portcullis follows Auth0: strict third-party apps' OIDC scopes are dropped, so their tokens
    carry no ``openid`` and /userinfo refuses them (RFC 6750 §3.1 ``insufficient_scope``)."""
    partner = application_create(
        actor=actor, name="Partner", app_type=AppType.REGULAR_WEB, is_first_party=False, callbacks=[CALLBACK]
    )
    make_grant(orders, client=partner.application, scope=["read:orders"], subject_type=SubjectType.USER)
    token = code_flow_token(live_server, partner, "openid profile read:orders", audience=orders.identifier)
    assert token["scope"] == "read:orders" and "id_token" not in token
    response = userinfo(live_server, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"


# -- the device flow's ID token: OpenID Connect Core §3.1.3.3, RFC 8628 §3.5 ----------------------


def test_the_device_flow_with_openid_gives_first_party_apps_an_id_token(live_server, actor, alice, fast_polling):
    """OpenID Connect Core §3.1.3.3 (the token response of a request with ``openid`` has an ID
    token), for the device code as for the authorization code; PyJWT checks it with the JWKS."""
    device = application_create(
        actor=actor, name="TV", app_type=AppType.NATIVE, callbacks=[], grant_types=[GrantType.DEVICE_CODE]
    ).application
    answer = device_id_token_answer(live_server, alice, device, "openid profile")
    assert set(answer["scope"].split()) == {"openid", "profile"}
    claims = verified_id_token(live_server, answer["id_token"], device.client_id)
    assert claims["sub"] == alice.user_id and claims["nickname"] == "alice"
    assert str(AccessToken.objects.get().id_token.jti) == claims["jti"]


def test_the_device_flow_without_openid_gives_no_id_token(live_server, actor, alice, fast_polling):
    """OpenID Connect Core §3: without ``openid`` the request is plain OAuth, with no ID token."""
    device = application_create(
        actor=actor, name="TV", app_type=AppType.NATIVE, callbacks=[], grant_types=[GrantType.DEVICE_CODE]
    ).application
    answer = device_id_token_answer(live_server, alice, device, "profile")
    assert "id_token" not in answer


# -- discovery: OpenID Connect Discovery §3 ------------------------------------------------------


def test_claims_supported_lists_every_claim_the_server_returns(live_server, actor, web_app, alice, make_organization):
    """OpenID Connect Discovery §3 ``claims_supported``: the claims the provider can supply. Read
    from what the server really issues (ID token and /userinfo with every scope, and an ID token of
    an organization login with the tenant's org_name setting on), not from a list."""
    token = code_flow_token(live_server, web_app, "openid profile email", nonce="n-1")
    id_claims = verified_id_token(live_server, token["id_token"], web_app.application.client_id)
    info = userinfo(live_server, headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    returned = set(id_claims) | set(info)
    application_update(actor=actor, application=web_app.application, organization_usage="allow")
    tenant_settings_update(actor=actor, allow_organization_name_in_authentication_api=True)
    acme = make_organization(
        "acme", members=[alice], connections=[Connection.objects.get(name=DATABASE_CONNECTION_NAME)]
    )
    token = code_flow_token(live_server, web_app, "openid", nonce="n-2", organization=acme.id)
    org_claims = verified_id_token(live_server, token["id_token"], web_app.application.client_id)
    assert (org_claims["org_id"], org_claims["org_name"]) == (acme.id, "acme")
    returned |= set(org_claims)
    # A login with a second factor: amr and acr (oauthcore.access_tokens.mfa_claims).
    enrollment = totp_enroll_start(actor=actor, user=alice)
    totp_enroll_confirm(actor=actor, user=alice, code=pyotp.TOTP(enrollment.secret).now())
    token = code_flow_token(
        live_server, web_app, "openid", nonce="n-3", otp=pyotp.TOTP(enrollment.secret).at(time.time() + 30)
    )
    mfa_claims = verified_id_token(live_server, token["id_token"], web_app.application.client_id)
    assert mfa_claims["amr"] == ["pwd", "otp", "mfa"]
    returned |= set(mfa_claims)
    advertised = set(
        requests.get(f"{live_server.url}/.well-known/openid-configuration", timeout=10).json()["claims_supported"]
    )
    assert "updated_at" in returned
    assert returned <= advertised, f"returned but not advertised: {sorted(returned - advertised)}"
    assert advertised <= returned, f"advertised but never returned: {sorted(advertised - returned)}"


# -- bad bytes: each surface answers in its own shape ---------------------------------------------

NUL_JSON = '{"name": "Agent\\u0000"}'
OAUTH_PATHS = ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device/code", "/oidc/register"]
READ_ERROR = {"error": "invalid_request", "error_description": "The request could not be read."}


def test_a_nul_in_a_management_api_body_gets_the_envelope(debug_on):
    """The management API's error envelope (Auth0's ``statusCode``, ``error``, ``message``,
    ``errorCode``) for a JSON string holding NUL, which no database stores, even with DEBUG on."""
    for method in ("post", "patch"):
        path = "/api/v2/clients" if method == "post" else "/api/v2/clients/some-client"
        response = getattr(Client(), method)(path, NUL_JSON, content_type="application/json")
        assert response.status_code == 400 and response["Content-Type"] == "application/json"
        assert response.json() == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": "Malformed request.",
            "errorCode": "invalid_body",
        }


@pytest.mark.parametrize("path", OAUTH_PATHS)
@pytest.mark.parametrize("body", ["json", "form", "query", "form-latin-1"])
def test_bad_bytes_at_the_oauth_endpoints_get_the_oauth_error(debug_on, path, body):
    """RFC 6749 §5.2 (and RFC 7591 §3.2.2, RFC 7662 §2.3, RFC 7009 §2.2.1): errors are a JSON object
    with ``error``, never a page, for a NUL in a JSON body, a form or the query, or a form Django
    cannot decode (a charset other than UTF-8), even with DEBUG on."""
    client = Client()
    if body == "json":
        response = client.post(path, NUL_JSON, content_type="application/json")
    elif body == "form":
        response = client.post(
            path, "grant_type=client_credentials&client_id=a%00", content_type="application/x-www-form-urlencoded"
        )
    elif body == "query":
        response = client.post(f"{path}?client_id=a%00", {"grant_type": "client_credentials"})
    else:
        form = b"grant_type=client_credentials&client_id=caf%E9"
        response = client.generic("POST", path, form, content_type="application/x-www-form-urlencoded; charset=latin-1")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json() == READ_ERROR


def test_a_post_to_an_unknown_management_api_path_is_the_json_404():
    """The management API is bearer-authenticated, so no CSRF check applies: an unknown path is the
    envelope's 404 (``inexistent_resource``), not Django's HTML CSRF 403, for every method."""
    client = Client(enforce_csrf_checks=True)
    for method in ("POST", "PUT", "PATCH", "DELETE", "GET"):
        response = client.generic(method, "/api/v2/no-such-thing", "{}", content_type="application/json")
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json() == {
            "statusCode": 404,
            "error": "Not Found",
            "message": "Not Found",
            "errorCode": "inexistent_resource",
        }
