"""RFC 6749, RFC 7636, RFC 8707, RFC 9207 and OpenID Connect Core §3.1.2 on the wire (raw HTTP):
status codes, headers and parameters that a client library would hide."""

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from oauthcore.access_tokens import userinfo_audience
from oauthcore.constants import AppType, GrantType, RedirectionPolicy
from tests.conformance.conftest import CALLBACK, NATIVE_CALLBACK, _issue, consented, post

pytestmark = pytest.mark.django_db(transaction=True)

VERIFIER = "conformance-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_query(client, **params) -> dict:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "scope": "read:orders",
        "audience": "https://orders.example.com/",
        "state": "st-123",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    query.update(params)
    return {k: v for k, v in query.items() if v is not None}


def authorize(session_or_requests, tenant, client, pairs=None, **params):
    """GET /authorize without following the redirect. ``pairs``: a raw list, for repeated parameters."""
    query = urlencode(pairs) if pairs is not None else urlencode(authorize_query(client, **params))
    return session_or_requests.get(f"{tenant.issuer}/authorize?{query}", allow_redirects=False, timeout=10)


def redirect_params(response) -> dict:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def code_for(browser, tenant, client, **params) -> str:
    return redirect_params(authorize(browser.session, tenant, client, **params))["code"]


def token(tenant, **data):
    return post(f"{tenant.issuer}/oauth/token", data=data)


@pytest.fixture
def open_first_party(actor, tenant):
    """A first-party app whose errors go back to its callback, for OpenID Connect's error responses."""
    return _issue(
        actor,
        name="Own open app",
        app_type=AppType.REGULAR_WEB,
        grant_types=[GrantType.AUTHORIZATION_CODE],
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    )


# -- RFC 6749 §3.1.2: redirection endpoint -------------------------------------------------------


@pytest.mark.parametrize("redirect_uri", [CALLBACK + "/other", CALLBACK + "?extra=1", "https://evil.example.com/cb"])
def test_rfc6749_3_1_2_redirect_uri_must_match_exactly_and_is_never_redirected_to(
    requests_session, tenant, redirect_uri
):
    """§3.1.2.3 and §4.1.2.1: a redirect URI other than a registered one, even for an app that lets
    errors go to its callback, gets an error page and no redirect."""
    response = authorize(requests_session, tenant, tenant.open, redirect_uri=redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers


def test_rfc6749_3_1_2_private_use_scheme_callback_gets_its_errors(requests_session, tenant):
    """§3.1.2 and RFC 8252 §7.1: a native app's private-use callback receives redirects, errors too."""
    response = authorize(
        requests_session, tenant, tenant.open, redirect_uri=NATIVE_CALLBACK, audience=None, resource="https://nope/"
    )
    assert response.status_code == 302, "issue 14 point 10: a redirect, not a DisallowedRedirect page"
    location = response.headers["Location"]
    assert location.startswith(NATIVE_CALLBACK + "?") and "error=invalid_target" in location


def test_rfc6749_3_1_repeated_authorization_parameter_is_invalid_request(requests_session, tenant):
    """§3.1: request parameters MUST NOT be included more than once."""
    pairs = [*authorize_query(tenant.open).items(), ("state", "again")]
    response = authorize(requests_session, tenant, tenant.open, pairs=pairs)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert redirect_params(response)["error"] == "invalid_request"
    else:
        assert "invalid_request" in response.text


# -- RFC 6749 §4.1.2.1: authorization error responses --------------------------------------------


def test_rfc6749_4_1_2_1_missing_response_type_is_invalid_request_with_state_and_iss(requests_session, tenant):
    params = redirect_params(authorize(requests_session, tenant, tenant.open, response_type=None))
    assert params["error"] == "invalid_request" and params["state"] == "st-123" and params["iss"] == tenant.issuer


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token", "bogus"])
def test_rfc6749_4_1_2_1_other_response_types_are_unsupported_response_type(requests_session, tenant, response_type):
    """§4.1.2.1 ``unsupported_response_type`` (issue 14 point 5)."""
    params = redirect_params(authorize(requests_session, tenant, tenant.open, response_type=response_type))
    assert params["error"] == "unsupported_response_type" and params["state"] == "st-123"


def test_rfc6749_4_1_2_1_decline_is_access_denied_with_state_and_iss(tenant, browser):
    outcome = browser.authorize(f"{tenant.issuer}/authorize?{urlencode(authorize_query(tenant.open))}")
    assert outcome.kind == "consent", outcome.page_text
    back = browser.answer_consent(outcome, accept=False)
    assert back.kind == "redirect" and back.location.startswith(CALLBACK)
    assert back.params == {"error": "access_denied", "state": "st-123", "iss": tenant.issuer} | (
        {"error_description": back.params["error_description"]} if "error_description" in back.params else {}
    )


def test_rfc6749_4_1_2_1_deviation_open_redirect_protection_shows_errors_on_our_page(requests_session, tenant):
    """Deliberate (Auth0): an app with open redirect protection gets its errors on our page."""
    response = authorize(requests_session, tenant, tenant.strict, response_type="token")
    assert response.status_code == 400 and "Location" not in response.headers


# -- RFC 9207 and RFC 6749 §4.1.2: the authorization response ------------------------------------


def test_rfc9207_2_and_rfc6749_4_1_2_code_response_carries_state_and_iss(tenant, browser):
    consented(tenant, tenant.strict, tenant.api.identifier, ["read:orders"])
    params = redirect_params(authorize(browser.session, tenant, tenant.strict))
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "st-123" and params["iss"] == tenant.issuer


# -- RFC 6749 §4.1.3, §5.1 and §5.2: the token endpoint ------------------------------------------


def test_rfc6749_5_1_token_response_is_json_no_store_no_cache(tenant):
    response = token(
        tenant,
        grant_type="client_credentials",
        client_id=tenant.m2m.client_id,
        client_secret=tenant.m2m.secret,
        audience=tenant.api.identifier,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int) and body["access_token"]


def test_rfc6749_5_2_errors_are_json_and_not_cached(tenant):
    response = token(tenant, grant_type="authorization_code", code="nope", client_id=tenant.strict.client_id)
    assert response.status_code in (400, 401)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    assert set(response.json()) <= {"error", "error_description", "error_uri"}


def test_rfc6749_5_2_invalid_client_in_the_body_is_401(tenant):
    response = token(
        tenant, grant_type="client_credentials", client_id=tenant.m2m.client_id, client_secret="wrong", audience="x"
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_rfc6749_5_2_invalid_client_is_401_with_basic_challenge(tenant):
    """§5.2: with HTTP Basic, 401 and a ``WWW-Authenticate`` in the scheme the client used (issue 14 point 3)."""
    response = post(
        f"{tenant.issuer}/oauth/token",
        data={"grant_type": "client_credentials", "audience": tenant.api.identifier},
        auth=(tenant.m2m.client_id, "wrong"),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_rfc6749_5_2_missing_grant_type_is_invalid_request(tenant):
    """Issue 14 point 4."""
    response = token(tenant, client_id=tenant.m2m.client_id, client_secret=tenant.m2m.secret)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:example:unknown"])
def test_rfc6749_5_2_grant_types_no_client_may_use_are_unsupported_grant_type(tenant, grant_type):
    """Issue 14 point 4: a grant type the server supports for nobody is ``unsupported_grant_type``."""
    response = token(
        tenant,
        grant_type=grant_type,
        client_id=tenant.m2m.client_id,
        client_secret=tenant.m2m.secret,
        username="alice",
        password="x",
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_rfc6749_3_2_repeated_token_parameter_is_invalid_request(tenant):
    """§3.2: parameters MUST NOT be included more than once (issue 14 point 4)."""
    response = post(
        f"{tenant.issuer}/oauth/token",
        data=[
            ("grant_type", "client_credentials"),
            ("client_id", tenant.m2m.client_id),
            ("client_secret", tenant.m2m.secret),
            ("audience", tenant.api.identifier),
            ("audience", tenant.api.identifier),
        ],
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_rfc6749_5_2_deviation_grant_type_the_app_may_not_use_is_403_unauthorized_client(tenant):
    """Deliberate (Auth0): 403 ``unauthorized_client``, where RFC 6749 has 400."""
    response = token(
        tenant,
        grant_type="client_credentials",
        client_id=tenant.strict.client_id,
        client_secret=tenant.strict.secret,
        audience=tenant.api.identifier,
    )
    assert response.status_code == 403 and response.json()["error"] == "unauthorized_client"


def test_rfc6749_5_2_deviation_ungranted_scope_is_403_access_denied(tenant):
    """Deliberate (Auth0): 403 ``access_denied`` for scopes not granted, where RFC 6749 has ``invalid_scope``."""
    response = token(
        tenant,
        grant_type="client_credentials",
        client_id=tenant.m2m.client_id,
        client_secret=tenant.m2m.secret,
        audience=tenant.api.identifier,
        scope="read:orders write:orders",
    )
    assert response.status_code == 403 and response.json()["error"] == "access_denied"


def test_rfc6749_4_1_3_redirect_uri_must_be_the_authorization_requests(tenant, browser):
    consented(tenant, tenant.open, tenant.api.identifier, ["read:orders"])
    code = code_for(browser, tenant, tenant.open)
    response = token(
        tenant,
        grant_type="authorization_code",
        code=code,
        client_id=tenant.open.client_id,
        client_secret=tenant.open.secret,
        redirect_uri=NATIVE_CALLBACK,
        code_verifier=VERIFIER,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_rfc6749_4_1_3_code_is_bound_to_its_client(tenant, browser):
    consented(tenant, tenant.open, tenant.api.identifier, ["read:orders"])
    code = code_for(browser, tenant, tenant.open)
    response = token(
        tenant,
        grant_type="authorization_code",
        code=code,
        client_id=tenant.strict.client_id,
        client_secret=tenant.strict.secret,
        redirect_uri=CALLBACK,
        code_verifier=VERIFIER,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


# -- RFC 7636 ------------------------------------------------------------------------------------


def test_rfc7636_4_4_1_plain_is_refused(requests_session, tenant):
    params = redirect_params(
        authorize(requests_session, tenant, tenant.open, code_challenge=VERIFIER, code_challenge_method="plain")
    )
    assert params["error"] == "invalid_request" and params["iss"] == tenant.issuer


def test_rfc7636_4_4_1_strict_apps_must_send_a_challenge(requests_session, tenant):
    params = redirect_params(
        authorize(requests_session, tenant, tenant.open, code_challenge=None, code_challenge_method=None)
    )
    assert params["error"] == "invalid_request"


def test_rfc7636_4_6_missing_verifier_is_refused(tenant, browser):
    consented(tenant, tenant.open, tenant.api.identifier, ["read:orders"])
    code = code_for(browser, tenant, tenant.open)
    response = token(
        tenant,
        grant_type="authorization_code",
        code=code,
        client_id=tenant.open.client_id,
        client_secret=tenant.open.secret,
        redirect_uri=CALLBACK,
    )
    assert response.status_code == 400 and response.json()["error"] in ("invalid_request", "invalid_grant")


# -- RFC 8707 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["https://unknown.example.com/", "not-an-absolute-uri"])
def test_rfc8707_2_unknown_resource_is_invalid_target(tenant, resource):
    response = token(
        tenant,
        grant_type="client_credentials",
        client_id=tenant.m2m.client_id,
        client_secret=tenant.m2m.secret,
        resource=resource,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_rfc8707_2_unknown_resource_at_authorize_is_invalid_target(requests_session, tenant):
    params = redirect_params(
        authorize(requests_session, tenant, tenant.open, audience=None, resource="https://unknown.example.com/")
    )
    assert params["error"] == "invalid_target" and params["state"] == "st-123"


# -- OpenID Connect Core §3.1.2 and §6 for first-party apps --------------------------------------


def test_oidc_core_3_1_2_6_prompt_none_without_session_is_login_required(requests_session, tenant, open_first_party):
    """Issue 14 point 2: ``scope=openid&prompt=none`` must not be a 500."""
    response = authorize(requests_session, tenant, open_first_party, scope="openid", audience=None, prompt="none")
    assert redirect_params(response)["error"] == "login_required"


def test_oidc_core_3_1_2_6_prompt_none_without_consent_is_consent_required(tenant, browser, open_first_party):
    response = authorize(
        browser.session, tenant, open_first_party, scope="openid profile", audience=None, prompt="none"
    )
    assert redirect_params(response)["error"] in ("consent_required", "interaction_required")


def test_oidc_core_3_1_2_6_prompt_none_with_consent_is_a_code(tenant, browser, open_first_party):
    consented(tenant, open_first_party, userinfo_audience(), ["openid", "profile"])
    response = authorize(
        browser.session, tenant, open_first_party, scope="openid profile", audience=None, prompt="none"
    )
    assert "code" in redirect_params(response)


@pytest.mark.parametrize(
    ("parameter", "error"),
    [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
        ("registration", "registration_not_supported"),
    ],
)
def test_oidc_core_6_and_7_2_1_unsupported_request_parameters(
    requests_session, tenant, open_first_party, parameter, error
):
    """OpenID Connect Core §6.1, §6.2 and §7.2.1: refused with their own error codes (issue 14 point 5)."""
    response = authorize(
        requests_session, tenant, open_first_party, scope="openid", audience=None, **{parameter: "eyJ.x.y"}
    )
    assert redirect_params(response)["error"] == error


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post"])
def test_oidc_discovery_response_modes_supported_is_exactly_what_works(tenant, browser, open_first_party, mode):
    """OpenID Connect Discovery §3 / OAuth 2.0 Multiple Response Types: an advertised mode delivers
    the code that way; one not advertised is refused (issue 14 point 5)."""
    advertised = browser.session.get(f"{tenant.issuer}/.well-known/openid-configuration").json()
    consented(tenant, open_first_party, userinfo_audience(), ["openid"])
    response = authorize(browser.session, tenant, open_first_party, scope="openid", audience=None, response_mode=mode)
    location = response.headers.get("Location", "")
    if mode in advertised.get("response_modes_supported", ["query", "fragment"]):
        if mode == "query":
            assert "code" in redirect_params(response)
        elif mode == "fragment":
            assert response.status_code == 302 and "code=" in urlsplit(location).fragment
        else:
            assert response.status_code == 200 and 'name="code"' in response.text and CALLBACK in response.text
    else:
        delivered = "code=" in location or 'name="code"' in response.text
        assert not delivered, f"response_mode={mode} works but is not advertised"
