"""/authorize as the specifications say, over real HTTP against the live server.

authlib drives the flows as a partner's app would (it builds the request, checks ``state`` and
redeems the code); raw ``requests`` is used where authlib would not send the request at all (an
unsupported response type, a request object) or would hide where the answer is on the wire.
"""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from consent.models import UserGrant
from oauthcore.constants import AppType, GrantType, RedirectionPolicy, SubjectType, UserPolicy
from oauthcore.services.applications import application_create
from tests.e2e.oauth_helpers import Browser, oauth_client

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:9999/callback"  # loopback: a first-party app still asks for consent
VERIFIABLE = "https://own-app.example.com/cb"  # a first-party app skips consent for /userinfo alone
NATIVE = "com.example.app:/cb"  # RFC 8252 §7.1 private-use scheme
VERIFIER = "v" * 50
PROTECTION = [RedirectionPolicy.OPEN_REDIRECT_PROTECTION, RedirectionPolicy.ALLOW_ALWAYS]


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:orders", "Read your orders"), ("write:orders", "Change your orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )


def partner(actor, orders, make_grant, *, redirection_policy=RedirectionPolicy.OPEN_REDIRECT_PROTECTION):
    """A strict third-party web app with a user-delegated grant on both Orders scopes and refresh tokens."""
    issued = application_create(
        actor=actor,
        name="Partner App",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        redirection_policy=redirection_policy,
    )
    make_grant(orders, client=issued.application, scope=["read:orders", "write:orders"], subject_type=SubjectType.USER)
    return issued.application, issued.client_secret


def own_app(actor, **fields):
    """A first-party web app (permissive: OpenID Connect, every parameter) allowed to receive errors."""
    fields.setdefault("redirection_policy", RedirectionPolicy.ALLOW_ALWAYS)
    issued = application_create(
        actor=actor, name="Own App", app_type=AppType.REGULAR_WEB, callbacks=[CALLBACK, VERIFIABLE], **fields
    )
    return issued.application, issued.client_secret


def authorize_url(live_server, client, **params) -> str:
    url, _state = client.create_authorization_url(f"{live_server.url}/authorize", code_verifier=VERIFIER, **params)
    return url


def raw_authorize_url(live_server, app, redirect_uri=VERIFIABLE, **params) -> str:
    """A request no library would build, with everything else right."""
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": "st",
        "nonce": "n0",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    } | params
    return f"{live_server.url}/authorize?{urlencode(query)}"


def token_url(live_server) -> str:
    return f"{live_server.url}/oauth/token"


def params_of(location: str, component: str = "query") -> dict[str, str]:
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.fragment if component == "fragment" else parts.query).items()}


def consented(browser, live_server, client, scope_url_params, *, scopes=None):
    """Through the consent screen once, accepting ``scopes`` (all offered by default)."""
    outcome = browser.authorize(authorize_url(live_server, client, **scope_url_params))
    assert outcome.kind == "consent", outcome.page_text
    back = browser.answer_consent(outcome, accept=True, scopes=scopes)
    assert back.kind == "redirect" and "code" in back.params, back.page_text if back.kind != "redirect" else ""
    return back


# -- 1. the answer on a repeated consent decides --------------------------------------------------


@pytest.mark.parametrize("policy", PROTECTION)
def test_declining_a_repeated_consent_is_access_denied(live_server, actor, orders, make_grant, alice, policy):
    """OpenID Connect Core §3.1.2.1 (prompt=consent) and §3.1.2.4, RFC 6749 §4.1.2.1: when the user
    is asked again and declines, the app gets access_denied, never a code, whatever they said before."""
    app, secret = partner(actor, orders, make_grant, redirection_policy=policy)
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    browser.login("alice")
    consented(browser, live_server, client, {"audience": orders.identifier})

    again = browser.authorize(authorize_url(live_server, client, audience=orders.identifier, prompt="consent"))
    assert again.kind == "consent"
    declined = browser.answer_consent(again, accept=False)
    if policy == RedirectionPolicy.ALLOW_ALWAYS:
        assert declined.kind == "redirect" and declined.location.startswith(CALLBACK)
        assert "code" not in declined.params
        assert declined.params["error"] == "access_denied" and declined.params["error_description"]
        assert declined.params["state"] == params_of(again.response.url)["state"]
        assert declined.params["iss"] == ISSUER
    else:
        assert declined.kind == "error_page" and declined.response.status_code == 400
        assert "access_denied" in declined.page_text
        assert "Location" not in declined.response.headers


def test_the_scopes_ticked_on_a_repeated_consent_cap_the_tokens_and_the_stored_consent(
    live_server, actor, orders, make_grant, alice
):
    """OpenID Connect Core §3.1.2.4 and §11 (offline_access needs the user's consent), RFC 6749 §3.3:
    what the user unticks when asked again is neither issued nor kept in their stored consent."""
    app, secret = partner(actor, orders, make_grant)
    client = oauth_client(app, secret, CALLBACK, "read:orders write:orders offline_access")
    browser = Browser(live_server.url)
    browser.login("alice")
    first = consented(browser, live_server, client, {"audience": orders.identifier})
    token = client.fetch_token(token_url(live_server), authorization_response=first.location, code_verifier=VERIFIER)
    assert "refresh_token" in token

    again = browser.authorize(authorize_url(live_server, client, audience=orders.identifier, prompt="consent"))
    assert again.offered_scopes == {"read:orders", "write:orders", "offline_access"}
    back = browser.answer_consent(again, accept=True, scopes=["read:orders"])
    assert back.kind == "redirect"
    token = client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    assert token["scope"] == "read:orders" and "refresh_token" not in token
    assert UserGrant.objects.get(user=alice, client=app, audience=orders.identifier).scope == ["read:orders"]

    # Asked without prompt=consent, the unticked scopes are asked for again, not taken as granted.
    third = browser.authorize(authorize_url(live_server, client, audience=orders.identifier))
    assert third.kind == "consent" and third.offered_scopes == {"write:orders", "offline_access"}


def test_a_decline_in_a_second_tab_grants_nothing(live_server, actor, orders, make_grant, alice):
    """RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.4: an answer is the user's decision even when
    another tab has answered first: the consent form declined after an accept is access_denied."""
    app, secret = partner(actor, orders, make_grant, redirection_policy=RedirectionPolicy.ALLOW_ALWAYS)
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    browser.login("alice")
    url = authorize_url(live_server, client, audience=orders.identifier)
    first_tab, second_tab = browser.authorize(url), browser.authorize(url)
    assert first_tab.kind == second_tab.kind == "consent"
    assert "code" in browser.answer_consent(first_tab, accept=True).params
    declined = browser.answer_consent(second_tab, accept=False)
    assert declined.kind == "redirect" and declined.params["error"] == "access_denied"
    assert "code" not in declined.params
    # The same form posted again after its own accept: still the answer that decides.
    assert browser.answer_consent(first_tab, accept=False).params["error"] == "access_denied"


# -- 2. prompt=none ----------------------------------------------------------------------------


def test_silent_authentication_answers_as_openid_connect_says(live_server, actor, alice):
    """OpenID Connect Core §3.1.2.6: prompt=none answers login_required without a session,
    consent_required when consent is needed, and a code (then an ID token) when neither is."""
    app, secret = own_app(actor)
    browser = Browser(live_server.url)
    needs_consent = oauth_client(app, secret, CALLBACK, "openid")
    silent = oauth_client(app, secret, VERIFIABLE, "openid")

    anonymous = browser.authorize(authorize_url(live_server, silent, prompt="none", nonce="n1"))
    assert anonymous.kind == "redirect" and anonymous.location.startswith(VERIFIABLE)
    assert anonymous.params["error"] == "login_required" and anonymous.params["state"]
    assert anonymous.params["iss"] == ISSUER

    browser.login("alice")
    consent = browser.authorize(authorize_url(live_server, needs_consent, prompt="none", nonce="n2"))
    assert consent.kind == "redirect" and consent.params["error"] == "consent_required"

    code = browser.authorize(authorize_url(live_server, silent, prompt="none", nonce="n3"))
    assert code.kind == "redirect" and "code" in code.params
    token = silent.fetch_token(token_url(live_server), authorization_response=code.location, code_verifier=VERIFIER)
    assert "id_token" in token

    mixed = browser.authorize(authorize_url(live_server, silent, prompt="none login", nonce="n4"))
    assert mixed.kind == "redirect" and mixed.params["error"] == "invalid_request"


def test_silent_authentication_errors_follow_the_redirection_policy(live_server, actor, alice):
    """OpenID Connect Core §3.1.2.6 errors are /authorize errors: with open redirect protection
    (a deliberate Auth0 deviation) they are shown on this server's page, never a 500."""
    app, secret = own_app(actor, redirection_policy=RedirectionPolicy.OPEN_REDIRECT_PROTECTION)
    client = oauth_client(app, secret, VERIFIABLE, "openid")
    outcome = Browser(live_server.url).authorize(authorize_url(live_server, client, prompt="none", nonce="n"))
    assert outcome.kind == "error_page" and outcome.response.status_code == 400
    assert "login_required" in outcome.page_text


# -- 5. response types, request objects, response modes ----------------------------------------


@pytest.mark.parametrize("response_type", ["token", "id_token", "id_token token", "code id_token", "none", "xcodex"])
def test_response_types_other_than_code_are_unsupported(live_server, actor, response_type):
    """RFC 6749 §4.1.2.1 and §3.1.1: a response type the server does not serve is
    unsupported_response_type (not unauthorized_client: the client may use the code flow)."""
    app, _secret = own_app(actor)
    response = requests.get(
        raw_authorize_url(live_server, app, response_type=response_type), allow_redirects=False, timeout=10
    )
    assert response.status_code == 302 and response.headers["Location"].startswith(VERIFIABLE)
    answer = params_of(response.headers["Location"])
    assert answer["error"] == "unsupported_response_type" and answer["state"] == "st"


@pytest.mark.parametrize(
    ("parameter", "value", "error"),
    [
        ("request", "eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        ("request_uri", "https://app.example.com/request.jwt", "request_uri_not_supported"),
        ("registration", '{"client_name": "x"}', "registration_not_supported"),
    ],
)
def test_request_objects_and_registration_are_refused_not_ignored(live_server, actor, parameter, value, error):
    """OpenID Connect Core §6.1, §6.2 and §7.2.1: a server that does not support these parameters
    answers request_not_supported, request_uri_not_supported, registration_not_supported."""
    app, _secret = own_app(actor)
    response = requests.get(
        raw_authorize_url(live_server, app, **{parameter: value}), allow_redirects=False, timeout=10
    )
    assert response.status_code == 302 and response.headers["Location"].startswith(VERIFIABLE)
    answer = params_of(response.headers["Location"])
    assert answer["error"] == error and answer["error_description"] and answer["state"] == "st"


def test_the_response_modes_advertised_are_exactly_those_that_work(live_server, actor, alice):
    """OpenID Connect Discovery §3 (response_modes_supported) and OAuth 2.0 Multiple Response Type
    Encoding Practices §2.1: query and fragment are served, for codes and errors alike; form_post is
    not, and asking for it is invalid_request rather than an answer in the query."""
    metadata = requests.get(f"{live_server.url}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["response_modes_supported"] == ["query", "fragment"]
    app, secret = own_app(actor)
    client = oauth_client(app, secret, VERIFIABLE, "openid")
    browser = Browser(live_server.url)

    error = browser.authorize(authorize_url(live_server, client, prompt="none", response_mode="fragment", nonce="n"))
    assert error.kind == "redirect" and urlsplit(error.location).query == ""
    assert params_of(error.location, "fragment")["error"] == "login_required"

    browser.login("alice")
    for mode in ("query", "fragment"):
        back = browser.authorize(authorize_url(live_server, client, response_mode=mode, nonce="n"))
        answer = params_of(back.location, mode)
        assert back.kind == "redirect" and answer["code"] and answer["state"] and answer["iss"] == ISSUER

    refused = browser.authorize(authorize_url(live_server, client, response_mode="form_post", nonce="n"))
    assert refused.kind == "redirect" and "code" not in refused.params
    assert refused.params["error"] == "invalid_request"
    assert refused.params["error_description"] == "response_mode 'form_post' is not supported: use query or fragment."


# -- 10. native apps' private-use schemes ------------------------------------------------------


def test_every_redirect_reaches_a_native_apps_private_use_scheme(live_server, actor, orders, make_grant, alice):
    """RFC 8252 §7.1: a native app's private-use URI scheme callback receives errors, codes and the
    answer to the consent screen as any https callback would (a 302, never a 400 from this server)."""
    app = application_create(
        actor=actor,
        name="Own CLI",
        app_type=AppType.NATIVE,
        callbacks=[NATIVE],
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    ).application
    make_grant(orders, client=app, scope=["read:orders"], subject_type=SubjectType.USER)
    browser = Browser(live_server.url)

    error = requests.get(
        raw_authorize_url(live_server, app, NATIVE, response_type="token"), allow_redirects=False, timeout=10
    )
    assert error.status_code == 302 and error.headers["Location"].startswith(f"{NATIVE}?")
    assert params_of(error.headers["Location"])["error"] == "unsupported_response_type"

    login = oauth_client(app, None, NATIVE, "openid")
    anonymous = browser.authorize(authorize_url(live_server, login, prompt="none", nonce="n"))
    assert anonymous.kind == "redirect" and anonymous.location.startswith(NATIVE)
    assert anonymous.params["error"] == "login_required"

    browser.login("alice")
    code = browser.authorize(authorize_url(live_server, login, nonce="n"))
    assert code.kind == "redirect" and code.location.startswith(f"{NATIVE}?")
    token = login.fetch_token(token_url(live_server), authorization_response=code.location, code_verifier=VERIFIER)
    assert token["id_token"]

    api = oauth_client(app, None, NATIVE, "read:orders")
    consent = browser.authorize(authorize_url(live_server, api, audience=orders.identifier))
    assert consent.kind == "consent"
    declined = browser.answer_consent(consent, accept=False)
    assert declined.kind == "redirect" and declined.location.startswith(f"{NATIVE}?")
    assert declined.params["error"] == "access_denied"
