"""The authorization server over HTTP, driven by authlib as a partner's app would drive it."""

from datetime import timedelta

import pytest
from authlib.integrations.base_client.errors import OAuthError
from django.contrib.auth import get_user_model
from django.test import override_settings

from oauthcore.constants import AppType, GrantType, RedirectionPolicy, SubjectType, UserPolicy
from oauthcore.keys import rotate_signing_key
from oauthcore.models import AuditEvent, RefreshToken
from oauthcore.services.applications import application_create
from tests.e2e.oauth_helpers import PASSWORD, Browser, InvalidClaimError, jwt_header, oauth_client, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
CALLBACK = "http://127.0.0.1:9999/callback"
VERIFIER = "x" * 50


@pytest.fixture
def user(alice):
    return alice


@pytest.fixture
def orders(make_api):
    return make_api(
        identifier="https://orders.example.com/",
        scopes=[("read:orders", "Read your orders"), ("write:orders", "Change your orders")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
        allow_offline_access=True,
    )


def issue(actor, **fields):
    fields.setdefault("callbacks", [CALLBACK])
    issued = application_create(actor=actor, **fields)
    return issued.application, issued.client_secret


@pytest.fixture
def partner_app(actor, orders, make_grant):
    """A partner's strict third-party web app with a user-delegated grant on the Orders API."""

    def make(scope):
        app, secret = issue(actor, name="Partner App", app_type=AppType.REGULAR_WEB, is_first_party=False)
        make_grant(orders, client=app, scope=scope, subject_type=SubjectType.USER)
        return app, secret

    return make


def code_partner(
    actor, orders, make_grant, scope=("read:orders",), *, name="Partner App", app_type=AppType.REGULAR_WEB
):
    """A strict third-party app for the code and refresh grants, with a user-delegated grant on the Orders API."""
    app, secret = issue(
        actor,
        name=name,
        app_type=app_type,
        is_first_party=False,
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
    )
    make_grant(orders, client=app, scope=list(scope), subject_type=SubjectType.USER)
    return app, secret


def token_url(live_server) -> str:
    return f"{live_server.url}/oauth/token"


def authorize_url(live_server, client, **params):
    url, _state = client.create_authorization_url(f"{live_server.url}/authorize", code_verifier=VERIFIER, **params)
    return url


def state_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["state"][0]


# -- client credentials ---------------------------------------------------------------------------


def test_client_credentials_token_is_a_jwt_verifiable_from_the_jwks(live_server, actor, orders, make_grant):
    app, secret = issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, is_first_party=False, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders"])
    token = oauth_client(app, secret).fetch_token(
        token_url(live_server), grant_type="client_credentials", audience=orders.identifier
    )
    assert token["token_type"] == "Bearer" and token["scope"] == "read:orders"
    assert token["expires_in"] == orders.token_lifetime
    header = jwt_header(token["access_token"])
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    claims = verify_jwt(live_server.url, token["access_token"], orders.identifier, ISSUER)
    assert claims["sub"] == f"{app.client_id}@clients"
    assert claims["client_id"] == app.client_id and claims["scope"] == "read:orders"
    assert claims["exp"] - claims["iat"] == orders.token_lifetime
    assert claims["jti"]


def test_token_requests_as_json_and_with_basic_auth(live_server, actor, orders, make_grant):
    import requests

    app, secret = issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders", "write:orders"])
    as_json = requests.post(
        token_url(live_server),
        json={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": secret,
            "audience": orders.identifier,
            "scope": "read:orders",
        },
        timeout=10,
    )
    assert as_json.status_code == 200 and as_json.json()["scope"] == "read:orders"
    basic = requests.post(
        token_url(live_server),
        data={"grant_type": "client_credentials", "audience": orders.identifier},
        auth=(app.client_id, secret),
        timeout=10,
    )
    assert basic.status_code == 200 and basic.json()["scope"] == "read:orders write:orders"
    wrong = requests.post(
        token_url(live_server),
        data={"grant_type": "client_credentials", "audience": orders.identifier},
        auth=(app.client_id, secret + "x"),
        timeout=10,
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_denials_are_oauth_errors_and_audited(live_server, actor, orders, make_grant):
    app, secret = issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders"])
    with pytest.raises(OAuthError) as excinfo:
        oauth_client(app, secret).fetch_token(
            token_url(live_server),
            grant_type="client_credentials",
            audience=orders.identifier,
            scope="read:orders write:orders",
        )
    assert excinfo.value.error == "access_denied"
    assert excinfo.value.description == "Client has not been granted scopes: write:orders"
    event = AuditEvent.objects.get(action="access.denied")
    assert event.actor_id == app.client_id and event.data["reason"] == "scopes_not_granted"
    assert event.data["trace"][-1] == "denied: scopes_not_granted"


# -- authorization code + PKCE through login and consent ----------------------------------------


def test_authorization_code_with_pkce_through_login_and_consent(live_server, actor, orders, make_grant, user):
    app, secret = code_partner(actor, orders, make_grant, ["read:orders", "write:orders"])
    client = oauth_client(app, secret, CALLBACK, "read:orders offline_access")
    browser = Browser(live_server.url)

    url = authorize_url(live_server, client, audience=orders.identifier)
    consent = browser.authorize(url, username="alice")
    assert consent.kind == "consent", consent.page_text
    assert consent.offered_scopes == {"read:orders", "offline_access"}
    assert "Read your orders" in consent.page_text
    assert consent.response.headers["X-Frame-Options"] == "DENY"
    back = browser.answer_consent(consent, accept=True)
    assert back.kind == "redirect" and back.location.startswith(CALLBACK)
    assert back.params["iss"] == ISSUER and back.params["state"] == state_of(url)

    token = client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    assert token["scope"] == "offline_access read:orders" and "id_token" not in token
    claims = verify_jwt(live_server.url, token["access_token"], orders.identifier, ISSUER)
    assert claims["sub"] == user.user_id and claims["aud"] == orders.identifier

    # A second authorization for the same scopes skips the screen.
    again = browser.authorize(authorize_url(live_server, client, audience=orders.identifier))
    assert again.kind == "redirect" and "code" in again.params

    # A confidential web app keeps its refresh token; the access token is new, with the same scopes.
    refreshed = client.refresh_token(token_url(live_server), refresh_token=token["refresh_token"])
    assert set(refreshed["scope"].split()) == {"offline_access", "read:orders"}
    assert refreshed["refresh_token"] == token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]

    # The code is single-use: used again, it is refused and what it was exchanged for is revoked
    # (tests/e2e/test_replay_live.py goes through the details).
    with pytest.raises(OAuthError) as excinfo:
        client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    assert excinfo.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        client.refresh_token(token_url(live_server), refresh_token=token["refresh_token"])


def test_spa_refresh_tokens_rotate_and_reuse_revokes_the_family(live_server, actor, orders, make_grant, user):
    app, _ = code_partner(actor, orders, make_grant, name="Partner SPA", app_type=AppType.SPA)
    client = oauth_client(app, None, CALLBACK, "read:orders offline_access")
    browser = Browser(live_server.url)
    consent = browser.authorize(authorize_url(live_server, client, audience=orders.identifier), username="alice")
    back = browser.answer_consent(consent, accept=True)
    token = client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    refreshed = client.refresh_token(token_url(live_server), refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    with pytest.raises(OAuthError) as excinfo:  # the old one again: a thief, or a bug; either way, stop
        client.refresh_token(token_url(live_server), refresh_token=token["refresh_token"])
    assert excinfo.value.error == "invalid_grant"
    assert not RefreshToken.objects.filter(application=app, revoked__isnull=True).exists()
    with pytest.raises(OAuthError):
        client.refresh_token(token_url(live_server), refresh_token=refreshed["refresh_token"])


def test_no_refresh_token_without_offline_access(live_server, actor, orders, make_grant, user):
    app, secret = code_partner(actor, orders, make_grant)
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    back = browser.answer_consent(
        browser.authorize(authorize_url(live_server, client, audience=orders.identifier), username="alice"),
        accept=True,
    )
    token = client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    assert token["scope"] == "read:orders" and "refresh_token" not in token
    assert not RefreshToken.objects.filter(application=app).exists()


def test_pkce_code_verifier_must_match(live_server, actor, orders, make_grant, user, partner_app):
    app, secret = partner_app(scope=["read:orders"])
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    consent = browser.authorize(authorize_url(live_server, client, audience=orders.identifier), username="alice")
    back = browser.answer_consent(consent, accept=True)
    with pytest.raises(OAuthError) as excinfo:
        client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier="y" * 50)
    assert excinfo.value.error == "invalid_grant"


def test_strict_apps_without_pkce_or_with_plain_get_an_error_page(live_server, actor, orders, make_grant, user):
    app, _ = issue(actor, name="Partner App", app_type=AppType.SPA, is_first_party=False)
    browser = Browser(live_server.url)
    browser.login("alice")
    base = (
        f"{live_server.url}/authorize?response_type=code&client_id={app.client_id}&redirect_uri={CALLBACK}"
        f"&scope=read:orders&audience={orders.identifier}&state=s1"
    )
    missing = browser.authorize(base)
    assert missing.kind == "error_page" and missing.response.status_code == 400
    assert "invalid_request" in missing.page_text
    plain = browser.authorize(base + "&code_challenge=" + "a" * 43 + "&code_challenge_method=plain")
    assert plain.kind == "error_page" and "code_challenge_method must be S256." in plain.page_text


def test_an_unregistered_redirect_uri_is_never_redirected_to(live_server, actor, orders, user):
    app, secret = issue(
        actor, name="Open", app_type=AppType.REGULAR_WEB, redirection_policy=RedirectionPolicy.ALLOW_ALWAYS
    )
    client = oauth_client(app, secret, "https://evil.example.com/callback", "openid")
    outcome = Browser(live_server.url).authorize(authorize_url(live_server, client))
    assert outcome.kind == "error_page" and outcome.response.status_code == 400
    assert "evil.example.com" not in outcome.response.headers.get("Location", "")


def test_decline_follows_the_redirection_policy(live_server, actor, orders, make_grant, user):
    browser = Browser(live_server.url)
    browser.login("alice")
    protected, secret = issue(actor, name="Protected", app_type=AppType.REGULAR_WEB, is_first_party=False)
    make_grant(orders, client=protected, scope=["read:orders"], subject_type=SubjectType.USER)
    client = oauth_client(protected, secret, CALLBACK, "read:orders")
    declined = browser.answer_consent(
        browser.authorize(authorize_url(live_server, client, audience=orders.identifier, state="st8")), accept=False
    )
    assert declined.kind == "error_page" and "access_denied" in declined.page_text

    open_app, secret = issue(
        actor,
        name="Open",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    )
    make_grant(orders, client=open_app, scope=["read:orders"], subject_type=SubjectType.USER)
    client = oauth_client(open_app, secret, CALLBACK, "read:orders")
    declined = browser.answer_consent(
        browser.authorize(authorize_url(live_server, client, audience=orders.identifier, state="st9")), accept=False
    )
    assert declined.kind == "redirect" and declined.location.startswith(CALLBACK)
    assert declined.params["error"] == "access_denied" and declined.params["state"] == "st9"


def test_users_of_a_non_domain_connection_get_an_error_page(live_server, actor, orders, make_grant):
    from oauthcore.services.connections import connection_create

    private = connection_create(actor=actor, name="private-db")
    get_user_model().objects.create_user(username="bob", password=PASSWORD, connection=private)
    app, secret = issue(
        actor,
        name="Open",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    )
    make_grant(orders, client=app, scope=["read:orders"], subject_type=SubjectType.USER)
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    outcome = Browser(live_server.url).authorize(
        authorize_url(live_server, client, audience=orders.identifier), username="bob"
    )
    assert outcome.kind == "error_page"
    assert "Third-party applications can only authenticate users through domain-level connections." in (
        outcome.page_text
    )
    denial = AuditEvent.objects.get(action="access.denied")
    assert denial.actor_id == app.client_id and denial.data["reason"] == "connection_not_domain_level"


# -- OIDC, userinfo, audience binding, introspection, keys --------------------------------------


def test_first_party_apps_get_an_id_token_and_userinfo(live_server, actor, user):
    import requests

    app, secret = issue(actor, name="Own App", app_type=AppType.REGULAR_WEB)
    client = oauth_client(app, secret, CALLBACK, "openid profile email")
    browser = Browser(live_server.url)
    consent = browser.authorize(authorize_url(live_server, client, nonce="n-0S6"), username="alice")
    back = browser.answer_consent(consent, accept=True) if consent.kind == "consent" else consent
    token = client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    assert "id_token" in token
    id_claims = verify_jwt(live_server.url, token["id_token"], app.client_id, ISSUER)
    assert id_claims["sub"] == user.user_id and id_claims["nonce"] == "n-0S6"
    info = requests.get(
        f"{live_server.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert info.status_code == 200
    assert info.json()["sub"] == user.user_id and info.json()["email"] == "alice@example.com"


def test_strict_apps_get_no_id_token_and_userinfo_refuses_their_tokens(live_server, actor, orders, make_grant, user):
    import requests

    app, secret = issue(actor, name="Partner", app_type=AppType.REGULAR_WEB, is_first_party=False)
    make_grant(orders, client=app, scope=["read:orders"], subject_type=SubjectType.USER)
    client = oauth_client(app, secret, CALLBACK, "openid profile read:orders")
    browser = Browser(live_server.url)
    consent = browser.authorize(authorize_url(live_server, client, audience=orders.identifier), username="alice")
    assert consent.offered_scopes == {"read:orders"}  # OIDC scopes are not even offered
    back = browser.answer_consent(consent, accept=True)
    token = client.fetch_token(token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER)
    assert "id_token" not in token and token["scope"] == "read:orders"
    info = requests.get(
        f"{live_server.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert info.status_code in (401, 403)


def test_tokens_are_bound_to_their_audience(live_server, actor, make_api, make_grant):
    import requests

    orders_client, orders_secret = issue(actor, name="Orders API", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    billing_client, billing_secret = issue(actor, name="Billing API", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    orders = make_api(identifier="https://orders.example.com/", client=orders_client)
    make_api(identifier="https://billing.example.com/", client=billing_client)
    caller, secret = issue(actor, name="Caller", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=caller, scope=["read:things"])
    token = oauth_client(caller, secret).fetch_token(
        token_url(live_server), grant_type="client_credentials", audience=orders.identifier
    )["access_token"]

    with pytest.raises(InvalidClaimError):
        verify_jwt(live_server.url, token, "https://billing.example.com/", ISSUER)

    def introspect(client_id, client_secret, value=token):
        return requests.post(
            f"{live_server.url}/oauth/introspect", data={"token": value}, auth=(client_id, client_secret), timeout=10
        )

    answer = introspect(orders_client.client_id, orders_secret).json()
    assert answer["active"] is True and answer["aud"] == orders.identifier
    assert answer["client_id"] == caller.client_id and answer["scope"] == "read:things"
    assert introspect(billing_client.client_id, billing_secret).json() == {"active": False}
    assert introspect(caller.client_id, secret).json() == {"active": False}  # only the API's own client
    assert introspect(orders_client.client_id, "wrong").status_code == 401
    assert introspect(orders_client.client_id, orders_secret, "not-a-token").json() == {"active": False}

    revoked = requests.post(
        f"{live_server.url}/oauth/revoke", data={"token": token}, auth=(caller.client_id, secret), timeout=10
    )
    assert revoked.status_code == 200
    assert introspect(orders_client.client_id, orders_secret).json() == {"active": False}


def test_rotated_keys_stay_published_until_their_tokens_expire(live_server, actor, orders, make_grant):
    app, secret = issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders"])
    client = oauth_client(app, secret)
    before = client.fetch_token(token_url(live_server), grant_type="client_credentials", audience=orders.identifier)
    new_key = rotate_signing_key(actor=actor)
    with override_settings():  # the live server's process shares our key cache; rotation clears it
        after = client.fetch_token(token_url(live_server), grant_type="client_credentials", audience=orders.identifier)
    assert jwt_header(after["access_token"])["kid"] == new_key.kid
    assert jwt_header(before["access_token"])["kid"] != new_key.kid
    for token in (before, after):
        verify_jwt(live_server.url, token["access_token"], orders.identifier, ISSUER)


def test_consent_asks_only_for_what_is_new(live_server, actor, orders, make_grant, user, partner_app):
    app, secret = partner_app(scope=["read:orders", "write:orders"])
    browser = Browser(live_server.url)
    narrow = oauth_client(app, secret, CALLBACK, "read:orders")
    first = browser.authorize(authorize_url(live_server, narrow, audience=orders.identifier), username="alice")
    browser.answer_consent(first, accept=True)
    wide = oauth_client(app, secret, CALLBACK, "read:orders write:orders")
    second = browser.authorize(authorize_url(live_server, wide, audience=orders.identifier))
    assert second.kind == "consent" and second.offered_scopes == {"write:orders"}
    assert "Already allowed: read:orders" in second.page_text
    # Unticking everything is declining.
    declined = browser.answer_consent(second, accept=True, scopes=[])
    assert declined.kind == "error_page" and "access_denied" in declined.page_text


def test_prompt_none_answers_login_required_then_consent_required(live_server, actor, orders, make_grant, user):
    app, secret = issue(
        actor,
        name="Open",
        app_type=AppType.REGULAR_WEB,
        is_first_party=False,
        redirection_policy=RedirectionPolicy.ALLOW_ALWAYS,
    )
    make_grant(orders, client=app, scope=["read:orders"], subject_type=SubjectType.USER)
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    anonymous = browser.authorize(authorize_url(live_server, client, audience=orders.identifier, prompt="none"))
    assert anonymous.kind == "redirect" and anonymous.params["error"] == "login_required"
    browser.login("alice")
    silent = browser.authorize(authorize_url(live_server, client, audience=orders.identifier, prompt="none"))
    assert silent.kind == "redirect" and silent.params["error"] == "consent_required"


def test_first_party_apps_skip_consent_where_the_api_allows_it(live_server, actor, make_api, user):
    api = make_api(identifier="https://own.example.com/", skip_consent_for_verifiable_first_party_clients=True)
    app, secret = issue(
        actor, name="Own", app_type=AppType.REGULAR_WEB, callbacks=["https://own-app.example.com/cb", CALLBACK]
    )
    browser = Browser(live_server.url)
    browser.login("alice")
    verifiable = oauth_client(app, secret, "https://own-app.example.com/cb", "read:things")
    outcome = browser.authorize(authorize_url(live_server, verifiable, audience=api.identifier))
    assert outcome.kind == "redirect" and "code" in outcome.params
    on_localhost = oauth_client(app, secret, CALLBACK, "read:things")  # localhost is never verifiable
    assert browser.authorize(authorize_url(live_server, on_localhost, audience=api.identifier)).kind == "consent"


def test_the_tenant_default_audience_applies_when_none_is_named(live_server, actor, orders, make_grant):
    from oauthcore.services.tenant import tenant_settings_update

    app, secret = issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders"])
    client = oauth_client(app, secret)
    with pytest.raises(OAuthError) as excinfo:
        client.fetch_token(token_url(live_server), grant_type="client_credentials")
    assert excinfo.value.description == (
        "No audience parameter was provided, and no default audience has been configured"
    )
    tenant_settings_update(actor=actor, default_audience=orders.identifier)
    token = client.fetch_token(token_url(live_server), grant_type="client_credentials")
    assert verify_jwt(live_server.url, token["access_token"], orders.identifier, ISSUER)["scope"] == "read:orders"


def test_strict_apps_cannot_send_unsupported_authorize_parameters(
    live_server, actor, orders, make_grant, user, partner_app
):
    app, secret = partner_app(scope=["read:orders"])
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    url = authorize_url(live_server, client, audience=orders.identifier, request_uri="urn:example:par")
    outcome = Browser(live_server.url).authorize(url)
    assert outcome.kind == "error_page" and outcome.response.status_code == 400
    assert "Parameters not supported for third-party applications: request_uri" in outcome.page_text


def test_prompt_login_and_max_age_ask_for_the_password_again(live_server, actor, orders, make_grant, user, partner_app):
    from django.utils import timezone

    app, secret = partner_app(scope=["read:orders"])
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    browser.login("alice")
    forced = browser.session.get(
        authorize_url(live_server, client, audience=orders.identifier, prompt="login"), allow_redirects=False
    )
    assert forced.status_code == 302 and forced.headers["Location"].startswith("/login?next=")
    assert "prompt" not in forced.headers["Location"]  # after logging in, no loop
    consent = browser.authorize(
        authorize_url(live_server, client, audience=orders.identifier, prompt="login"), username="alice"
    )
    assert consent.kind == "consent"

    get_user_model().objects.filter(pk=user.pk).update(last_login=timezone.now() - timedelta(hours=2))
    stale = browser.session.get(
        authorize_url(live_server, client, audience=orders.identifier, max_age="3600"), allow_redirects=False
    )
    assert stale.status_code == 302 and stale.headers["Location"].startswith("/login?next=")
    fresh = browser.session.get(
        authorize_url(live_server, client, audience=orders.identifier, max_age="36000"), allow_redirects=False
    )
    assert fresh.status_code == 200  # the consent page: the login is recent enough


def test_a_consent_answer_after_the_session_ended_asks_to_log_in(
    live_server, actor, orders, make_grant, user, partner_app
):
    app, secret = partner_app(scope=["read:orders"])
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    consent = browser.authorize(authorize_url(live_server, client, audience=orders.identifier), username="alice")
    browser.session.cookies.clear("127.0.0.1", "/", "sessionid")
    response = browser.session.post(
        consent.response.url,
        data={"decision": "accept", "scope": "read:orders"},
        headers={"X-CSRFToken": browser.session.cookies.get("csrftoken", "")},
        allow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


# -- resource indicators (RFC 8707) --------------------------------------------------------------


def test_resource_names_the_api_and_becomes_the_tokens_aud(live_server, actor, orders, make_grant, user):
    app, secret = code_partner(actor, orders, make_grant, name="Resource App")
    client = oauth_client(app, secret, CALLBACK, "read:orders offline_access")
    browser = Browser(live_server.url)
    consent = browser.authorize(authorize_url(live_server, client, resource=orders.identifier), username="alice")
    assert consent.kind == "consent", consent.page_text
    back = browser.answer_consent(consent, accept=True)

    # The token request may repeat the resource; naming another one is invalid_target.
    with pytest.raises(OAuthError) as excinfo:
        client.fetch_token(
            token_url(live_server),
            authorization_response=back.location,
            code_verifier=VERIFIER,
            resource="https://elsewhere.example.com/",
        )
    assert excinfo.value.error == "invalid_target"
    token = client.fetch_token(
        token_url(live_server), authorization_response=back.location, code_verifier=VERIFIER, resource=orders.identifier
    )
    claims = verify_jwt(live_server.url, token["access_token"], orders.identifier, ISSUER)
    assert claims["aud"] == orders.identifier

    with pytest.raises(OAuthError) as excinfo:
        client.refresh_token(
            token_url(live_server), refresh_token=token["refresh_token"], resource="https://x.example/"
        )
    assert excinfo.value.error == "invalid_target"
    refreshed = client.refresh_token(
        token_url(live_server), refresh_token=token["refresh_token"], resource=orders.identifier
    )
    assert verify_jwt(live_server.url, refreshed["access_token"], orders.identifier, ISSUER)["aud"] == orders.identifier


def test_an_unknown_resource_is_invalid_target_and_audience_wins_over_resource(
    live_server, actor, orders, make_grant, user
):
    app, secret = code_partner(actor, orders, make_grant, name="Resource App")
    app.redirection_policy = RedirectionPolicy.ALLOW_ALWAYS
    app.save()
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    url = authorize_url(live_server, client, resource="https://unknown.example.com/")
    refused = browser.authorize(url)  # decided before anyone logs in
    assert refused.kind == "redirect"
    assert refused.params["error"] == "invalid_target"
    assert refused.params["error_description"] == "Service not found: https://unknown.example.com/"

    both = browser.authorize(
        authorize_url(live_server, client, audience=orders.identifier, resource="https://x.example/"),
        username="alice",
    )
    assert both.kind == "consent" and "Read your orders" in both.page_text

    two = browser.authorize(
        f"{authorize_url(live_server, client, resource=orders.identifier)}&resource=https://x.example/"
    )
    assert two.kind == "redirect" and two.params["error"] == "invalid_target"


def test_client_credentials_take_resource_as_the_audience(live_server, actor, orders, make_grant):
    app, secret = issue(actor, name="M2M", app_type=AppType.NON_INTERACTIVE, callbacks=[])
    make_grant(orders, client=app, scope=["read:orders"])
    token = oauth_client(app, secret).fetch_token(
        token_url(live_server), grant_type="client_credentials", resource=orders.identifier
    )
    assert verify_jwt(live_server.url, token["access_token"], orders.identifier, ISSUER)["aud"] == orders.identifier
    with pytest.raises(OAuthError) as excinfo:
        oauth_client(app, secret).fetch_token(
            token_url(live_server), grant_type="client_credentials", resource="https://unknown.example.com/"
        )
    assert excinfo.value.error == "invalid_target"
    assert excinfo.value.description == "Service not found: https://unknown.example.com/"
