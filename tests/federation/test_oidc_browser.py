"""Home-realm discovery as a person sees it, in a real headless Chromium: a work email typed at our
login page goes to the company's OpenID provider, whose sign-in brings them back to consent."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.oauth_helpers import oauth_client, verify_jwt
from tests.federation.e2e import ORDERS, VERIFIER
from tests.federation.oidc_idp import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_work_email_at_login_signs_in_at_the_company_provider(
    live_server, cast, page, fake_app, artifacts, live_identity_provider
):
    callback = f"{fake_app}/callback"
    tenant = cast(callback)
    client = oauth_client(tenant.app, tenant.secret, callback, "read:orders")
    url, state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS
    )

    page.goto(url)
    page.get_by_label("Username or email").fill("Jane.Doe@ACME.test")
    page.get_by_role("button", name="Log in").click()  # no password: the company signs her in

    page.get_by_role("heading", name="Sign in to the identity provider").wait_for()
    assert page.url.startswith(f"{live_identity_provider.issuer}/interaction/")
    page.get_by_label("Username").fill("jane")
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=str(artifacts / "oidc-provider-sign-in.png"))
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert page.url.startswith(live_server.url)
    assert page.get_by_text("jane@acme.test").is_visible()
    page.screenshot(path=str(artifacts / "oidc-consent.png"), full_page=True)
    page.get_by_role("button", name="Accept").click()

    page.wait_for_url(re.compile(r"/callback\?"))
    params = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    assert params["state"] == state and params["code"]
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["access_token"], ORDERS, live_server.url)
    assert claims["sub"] == "oidc|acme|jane"
