"""The attacks of RFC 9700 (OAuth 2.0 Security BCP) against /authorize and /oauth/token, over HTTP,
with authlib as the client: redirect URI manipulation and open redirection (§4.1, §4.11),
credential leakage via Referer (§4.2), mix-up (§4.4), code injection (§4.5) and CSRF (§4.7)."""

from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError

from consent.models import UserGrant
from oauthcore.constants import AppType, RedirectionPolicy
from oauthcore.models import Grant
from tests.e2e.abuse_helpers import (
    CALLBACK,
    VERIFIER,
    authorization_code,
    code_client,
    make_orders_api,
    make_partner_app,
)
from tests.e2e.oauth_helpers import CSRF_RE, Browser, oauth_client

pytestmark = pytest.mark.django_db(transaction=True)

REGISTERED = "https://app.example.com/callback"
MANIPULATED = [
    "https://app.example.com/callback/other",
    "https://app.example.com/callback/",
    "https://app.example.com/callback?next=https://evil.example/",
    "https://app.example.com/callback#fragment",
    "https://app.example.com/Callback",
    "https://app.example.com/callback/../../evil",
    "https://app.example.com:8443/callback",
    "http://app.example.com/callback",
    "https://app.example.com.evil.example/callback",
    "https://app.example.com@evil.example/callback",
    "https://evil.example/?https://app.example.com/callback",
    "https://evil.example/callback",
    "javascript:alert(1)//app.example.com/callback",
]


@pytest.fixture
def orders(actor, make_api):
    return make_orders_api(actor, make_api)


@pytest.fixture
def open_app(actor, make_grant, orders):
    """The most permissive policy: errors redirect to the callback (when it is a registered one)."""
    return make_partner_app(
        actor,
        make_grant,
        orders,
        callbacks=[REGISTERED, CALLBACK],
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    )


def authorize_url(live_server, **params) -> str:
    return f"{live_server.url}/authorize?{urlencode(params)}"


def pkce_params(app, orders, redirect_uri, **extra):
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": "read:orders",
        "audience": orders.identifier,
        "state": "s-1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **extra,
    }


# -- §4.1 and §4.11: redirect URIs are compared exactly; an unvalidated one is never redirected to -----


@pytest.mark.parametrize("redirect_uri", MANIPULATED)
def test_a_manipulated_redirect_uri_is_never_redirected_to(live_server, open_app, orders, alice, redirect_uri):
    app, _ = open_app
    browser = Browser(live_server.url)
    browser.login("alice")
    response = browser.session.get(
        authorize_url(live_server, **pkce_params(app, orders, redirect_uri)), allow_redirects=False
    )
    assert response.status_code == 400, response.headers.get("Location")
    assert "Location" not in response.headers
    assert 'href="https://evil' not in response.text and 'http-equiv="refresh' not in response.text
    assert not Grant.objects.exists()


def test_an_unknown_client_never_redirects(live_server, alice):
    response = requests.get(
        authorize_url(
            live_server, response_type="code", client_id="tpc_unknown", redirect_uri="https://evil.example/cb"
        ),
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_registered_redirect_uri_gets_errors_only_for_allow_always_apps(live_server, actor, make_grant, orders):
    protected, _ = make_partner_app(actor, make_grant, orders, callbacks=[REGISTERED], name="Protected")
    bad_scope = pkce_params(protected, orders, REGISTERED, scope="write:everything")
    page = requests.get(authorize_url(live_server, **bad_scope), allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers  # open redirect protection


# -- §4.2: nothing on our pages leaks the request to another origin -------------------------------------


def test_authorization_pages_send_no_referer_to_other_origins(live_server, actor, make_grant, orders, alice):
    app, secret = make_partner_app(actor, make_grant, orders)
    client = code_client(app, secret, "read:orders")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier
    )
    browser = Browser(live_server.url)
    login_page = browser.session.get(browser.url(browser.session.get(url, allow_redirects=False).headers["Location"]))
    consent = browser.authorize(url, username="alice")
    for response in (login_page, consent.response):
        assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


# -- §4.4: mix-up: every authorization response names its issuer ------------------------------------------


def test_every_authorization_response_carries_the_issuer_from_discovery(live_server, open_app, orders, alice):
    app, secret = open_app
    issuer = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server", timeout=10).json()
    assert issuer["authorization_response_iss_parameter_supported"] is True
    client = code_client(app, secret, "read:orders")
    browser = Browser(live_server.url)
    success = authorization_code(live_server, browser, client, orders)
    assert dict(_query(success))["iss"] == issuer["issuer"]

    # An error redirected to the client (this app allows it): a new browser, prompt=none, no session.
    refused = Browser(live_server.url).session.get(
        authorize_url(live_server, **pkce_params(app, orders, CALLBACK, prompt="none")), allow_redirects=False
    )
    assert refused.status_code == 302
    params = dict(_query(refused.headers["Location"]))
    assert params == {"error": "login_required", "state": "s-1", "iss": issuer["issuer"]}


def _query(url: str):
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query)


# -- §4.5: code injection ---------------------------------------------------------------------------------


def test_a_stolen_code_is_useless_without_the_victims_pkce_verifier(live_server, actor, make_grant, orders, alice):
    app, _ = make_partner_app(actor, make_grant, orders, app_type=AppType.SPA, name="Partner SPA")
    victim = code_client(app, None, "read:orders")
    stolen = authorization_code(live_server, Browser(live_server.url), victim, orders)
    attacker = code_client(app, None, "read:orders")  # same public client, the attacker's own session
    with pytest.raises(OAuthError) as injected:
        attacker.fetch_token(f"{live_server.url}/oauth/token", authorization_response=stolen, code_verifier="a" * 64)
    assert injected.value.error == "invalid_grant"
    # The injection attempt did not burn the victim's code.
    token = victim.fetch_token(f"{live_server.url}/oauth/token", authorization_response=stolen, code_verifier=VERIFIER)
    assert token["scope"] == "read:orders"


def test_a_code_is_bound_to_its_client_and_redirect_uri(live_server, actor, make_grant, orders, alice):
    app, secret = make_partner_app(actor, make_grant, orders, callbacks=[CALLBACK, REGISTERED])
    other, other_secret = make_partner_app(actor, make_grant, orders, name="Other App")
    code_url = authorization_code(
        live_server, Browser(live_server.url), code_client(app, secret, "read:orders"), orders
    )
    with pytest.raises(OAuthError) as wrong_client:
        code_client(other, other_secret).fetch_token(
            f"{live_server.url}/oauth/token", authorization_response=code_url, code_verifier=VERIFIER
        )
    assert wrong_client.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as wrong_redirect:
        oauth_client(app, secret, REGISTERED, "read:orders").fetch_token(
            f"{live_server.url}/oauth/token", authorization_response=code_url, code_verifier=VERIFIER
        )
    assert wrong_redirect.value.error == "invalid_grant"  # RFC 6749 §5.2
    assert wrong_redirect.value.description == "The redirect_uri does not match the one of the authorization request."


# -- §4.7: CSRF -----------------------------------------------------------------------------------------------


def test_state_comes_back_exactly_as_sent(live_server, actor, make_grant, orders, alice):
    app, secret = make_partner_app(actor, make_grant, orders)
    state = "csrf é/?&=+ %20 " + "x" * 100
    callback = authorization_code(
        live_server, Browser(live_server.url), code_client(app, secret, "read:orders"), orders, state=state
    )
    assert dict(_query(callback))["state"] == state


def test_a_consent_post_without_the_users_csrf_token_is_refused(live_server, actor, make_grant, orders, alice):
    app, secret = make_partner_app(actor, make_grant, orders)
    client = code_client(app, secret, "read:orders")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier
    )
    victim = Browser(live_server.url)
    consent = victim.authorize(url, username="alice")
    assert consent.kind == "consent"
    forged = victim.session.post(  # an attacker's page auto-submitting the form: the cookie, not the token
        consent.response.url,
        data={"decision": "accept", "scope": "read:orders"},
        headers={"Referer": "https://evil.example/"},
        allow_redirects=False,
    )
    assert forged.status_code == 403 and "Location" not in forged.headers
    attacker = Browser(live_server.url)  # a token from the attacker's own session does not help either
    attacker_token = CSRF_RE.search(attacker.session.get(attacker.url("/login")).text).group(1)
    forged = victim.session.post(
        consent.response.url,
        data={"decision": "accept", "scope": "read:orders", "csrfmiddlewaretoken": attacker_token},
        headers={"Referer": consent.response.url},
        allow_redirects=False,
    )
    assert forged.status_code == 403
    assert not UserGrant.objects.exists() and not Grant.objects.exists()
