"""The sign-in flow around both strategies, over real HTTP against the live server and oidc-provider:
an answer only completes the sign-in in the browser that started it, and once; which apps may use
which connection (rule 6: third-party apps only domain-level ones, first-party apps those enabled
for them), refused on our own page, never at the app's callback."""

import pytest
from django.contrib.auth import get_user_model

from oauthcore.constants import AppType, GrantType, SubjectType
from oauthcore.models import AuditEvent, ResourceServer
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level, connection_set_enabled_clients
from tests.e2e.oauth_helpers import Browser, oauth_client, verify_jwt
from tests.federation.e2e import ORDERS, VERIFIER

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://partner.example.com/callback"
OTHER_BROWSER = "This sign-in was started in another browser. Start again from the application."
USED = "This sign-in has expired or was already used. Start again from the application."


def start(live_server, tenant, *, app=None, secret=None, **params):
    """A browser sent by the app to /authorize and on to the provider; returns (browser, provider URL, client)."""
    client = oauth_client(app or tenant.app, secret or tenant.secret, CALLBACK, "read:orders")
    url, _state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS, **params
    )
    browser = Browser(live_server.url)
    return browser, browser.authorize(url), client


def test_an_answer_taken_to_another_browser_signs_nobody_in_there(live_server, cast, live_identity_provider):
    """Login CSRF (RFC 6749 §10.12, RFC 9700 §4.7.1): the provider's answer for Alice's sign-in,
    planted in Mallory's victim's browser, must not sign that browser in as Alice."""
    tenant = cast(CALLBACK)
    browser, out, _client = start(live_server, tenant, connection="acme")
    back = live_identity_provider.sign_in(out.location, username="jane")

    victim = Browser(live_server.url)
    planted = victim.session.get(back, allow_redirects=False)
    assert planted.status_code == 400 and OTHER_BROWSER in planted.text
    assert "_auth_user_id" not in victim.session.cookies.get_dict().get("sessionid", "")
    assert not get_user_model().objects.filter(connection=tenant.connection).exists()

    # The browser that started it still finishes it, once.
    assert browser.authorize(back).kind == "consent"
    again = browser.session.get(back, allow_redirects=False)
    assert again.status_code == 400 and USED in again.text


def test_a_third_party_app_cannot_use_a_connection_that_is_not_domain_level(
    live_server, actor, cast, live_identity_provider
):
    tenant = cast(CALLBACK)
    connection_set_domain_level(actor=actor, connection=tenant.connection, is_domain_connection=False)

    _browser, out, _client = start(live_server, tenant, connection="acme")
    assert out.kind == "error_page" and out.response.status_code == 400
    assert "The connection acme does not exist or is not enabled for this client." in out.response.text

    # Nor by its own start page, from the login page of the app's authorization request.
    direct = Browser(live_server.url).session.get(
        f"{live_server.url}/login/connection/acme", params={"next": out.response.url.removeprefix(live_server.url)}
    )
    assert direct.status_code == 400 and "cannot sign users in through acme" in direct.text


@pytest.fixture
def first_party_app(actor, make_grant):
    """The tenant's own web app, with a user grant on the Orders API."""

    def make():
        issued = application_create(
            actor=actor,
            name="Acme Portal",
            app_type=AppType.REGULAR_WEB,
            callbacks=[CALLBACK],
            grant_types=[GrantType.AUTHORIZATION_CODE],
        )
        orders = ResourceServer.objects.get(identifier=ORDERS)
        make_grant(orders, client=issued.application, scope=["read:orders"], subject_type=SubjectType.USER)
        return issued.application, issued.client_secret

    return make


def test_a_first_party_app_uses_an_enterprise_connection_once_enabled_for_it(
    live_server, actor, cast, live_identity_provider, first_party_app
):
    tenant = cast(CALLBACK)
    first_party, secret = first_party_app()

    # The tenant's own app redirects its errors (allow_always, rule 8): to its callback, never to the provider.
    _browser, refused, _client = start(live_server, tenant, app=first_party, secret=secret, connection="acme")
    assert refused.kind == "redirect" and refused.location.startswith(CALLBACK)
    assert refused.params["error"] == "invalid_request"
    assert (
        refused.params["error_description"] == "The connection acme does not exist or is not enabled for this client."
    )

    connection_set_enabled_clients(actor=actor, connection=tenant.connection, changes={first_party.pk: True})
    browser, out, client = start(live_server, tenant, app=first_party, secret=secret, connection="acme")
    answer = browser.authorize(live_identity_provider.sign_in(out.location, username="jane"))
    if answer.kind == "consent":  # a first-party app is asked only where the API cannot skip it
        answer = browser.answer_consent(answer, accept=True)
    assert answer.kind == "redirect" and answer.location.startswith(CALLBACK)
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=answer.location, code_verifier=VERIFIER
    )
    assert verify_jwt(live_server.url, token["access_token"], ORDERS, live_server.url)["sub"] == "oidc|acme|jane"


def test_a_first_party_app_refuses_a_user_of_a_connection_no_longer_enabled(
    live_server, actor, cast, live_identity_provider, first_party_app
):
    """Rule 6 is decided at /authorize once the user is known: a user still signed in through a
    connection that is no longer enabled for the app gets our error page, even from an app that
    has its errors redirected (a wrong connection is never sent to the callback)."""
    tenant = cast(CALLBACK)
    app, secret = first_party_app()
    connection_set_enabled_clients(actor=actor, connection=tenant.connection, changes={app.pk: True})
    browser, out, _client = start(live_server, tenant, app=app, secret=secret, connection="acme")
    first = browser.authorize(live_identity_provider.sign_in(out.location, username="jane"))
    assert first.kind in ("redirect", "consent")  # signed in through acme
    connection_set_enabled_clients(actor=actor, connection=tenant.connection, changes={app.pk: False})

    client = oauth_client(app, secret, CALLBACK, "read:orders")
    url, _state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS
    )
    answer = browser.authorize(url)
    assert answer.kind == "error_page" and answer.response.status_code == 400
    assert "The user&#x27;s connection is not enabled for this client." in answer.response.text
    assert AuditEvent.objects.filter(data__reason="connection_not_enabled").exists()


def test_the_login_page_offers_a_third_party_app_only_domain_level_connections(
    live_server, actor, cast, live_identity_provider
):
    tenant = cast(CALLBACK)
    _browser, out, _client = start(live_server, tenant)
    assert 'href="/login/connection/acme?next=' in out.response.text  # domain level: a button

    connection_set_domain_level(actor=actor, connection=tenant.connection, is_domain_connection=False)
    _browser, out, _client = start(live_server, tenant)
    assert "/login/connection/acme" not in out.response.text


def test_starting_sign_ins_counts_against_the_addresss_login_limit(live_server, settings, cast):
    """Every start writes a flow and sends a request to the provider: an address that starts them
    in a loop is held to the same limit as password attempts (429 with Retry-After)."""
    cast(CALLBACK)
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"login_address": "2/m"}}
    browser = Browser(live_server.url)
    answers = [browser.session.get(f"{live_server.url}/login/connection/acme", allow_redirects=False) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [302, 302, 429]
    assert int(answers[2].headers["Retry-After"]) > 0 and "Too many requests" in answers[2].text
