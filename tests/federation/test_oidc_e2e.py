"""An app's user signs in at their company's OpenID provider, through the live server: ``/authorize``
with ``connection=`` goes straight to the provider, and the token names the user ``oidc|acme|jane``."""

import pytest
from django.contrib.auth import get_user_model

from oauthcore.models import AuditEvent
from tests.e2e.oauth_helpers import Browser, oauth_client, verify_jwt
from tests.federation.e2e import ORDERS, VERIFIER

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://partner.example.com/callback"


def test_authorize_with_a_connection_signs_in_at_the_provider_then_consent_then_a_token(
    live_server, cast, live_identity_provider
):
    tenant = cast(CALLBACK)
    client = oauth_client(tenant.app, tenant.secret, CALLBACK, "read:orders")
    url, state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS, connection="acme"
    )
    browser = Browser(live_server.url)

    out = browser.authorize(url)
    assert out.kind == "redirect" and out.location.startswith(f"{live_identity_provider.issuer}/auth?")
    back = live_identity_provider.sign_in(out.location, username="jane")
    assert back.startswith(f"{live_server.url}/login/callback?")
    consent = browser.authorize(back)
    assert consent.kind == "consent", consent.page_text
    assert "Acme Order Sync" in consent.page_text and "jane@acme.test" in consent.page_text
    answer = browser.answer_consent(consent, accept=True)
    assert answer.kind == "redirect" and answer.location.startswith(CALLBACK)
    assert answer.params["state"] == state

    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=answer.location, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["access_token"], ORDERS, live_server.url)
    assert claims["sub"] == "oidc|acme|jane"
    user = get_user_model().objects.get(connection=tenant.connection)
    assert (user.email, user.first_name, user.last_name, user.email_verified) == (
        "jane@acme.test",
        "Jane",
        "Doe",
        True,
    )
    assert AuditEvent.objects.filter(action="user.create", data__user_id="oidc|acme|jane").exists()


def test_a_provider_that_says_no_is_shown_on_our_page(live_server, cast, live_identity_provider):
    tenant = cast(CALLBACK)
    client = oauth_client(tenant.app, tenant.secret, CALLBACK, "read:orders")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS, connection="acme"
    )
    browser = Browser(live_server.url)

    out = browser.authorize(url)
    back = live_identity_provider.sign_in(out.location, cancel=True)
    page = browser.session.get(back, allow_redirects=False)

    assert page.status_code == 400
    assert "The identity provider did not sign you in (access_denied: The user cancelled the sign-in)" in page.text
    assert not get_user_model().objects.filter(connection=tenant.connection).exists()
    assert AuditEvent.objects.get(action="connection.signin_failed").data["reason"] == "access_denied"
