"""An organization's login as a person sees it, in a real headless Chromium: a partner's app that
requires an organization asks for its name first, the organization's login page offers its
enterprise connection, the company's OpenID provider signs the person in (making them a member),
the consent names the organization, and the app's token carries ``org_id``."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from consent.models import UserGrant
from oauthcore.models import OrganizationMember
from oauthcore.services.applications import application_update
from tests.e2e.oauth_helpers import oauth_client, verify_jwt
from tests.federation.e2e import ORDERS, VERIFIER
from tests.federation.oidc_idp import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_partner_app_signs_a_person_in_through_their_organization(
    live_server, actor, cast, page, fake_app, artifacts, live_identity_provider, make_organization
):
    callback = f"{fake_app}/callback"
    tenant = cast(callback)
    application_update(
        actor=actor,
        application=tenant.app,
        organization_usage="require",
        organization_require_behavior="pre_login_prompt",
    )
    acme = make_organization(
        "acme-corp",
        display_name="Acme Corporation",
        third_party=True,
        connections=[(tenant.connection, {"assign_membership_on_login": True, "show_as_button": True})],
    )
    client = oauth_client(tenant.app, tenant.secret, callback, "read:orders")
    url, state = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=ORDERS
    )

    page.goto(url)  # no organization= in the request: the app requires one, so we ask before login
    page.get_by_role("heading", name="Log in to your organization").wait_for()
    page.get_by_label("Organization name").fill("ACME-Corp")
    page.screenshot(path=str(artifacts / "organization-prompt.png"))
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("heading", name="Log in to Acme Corporation").wait_for()
    waiting = parse_qs(urlsplit(parse_qs(urlsplit(page.url).query)["next"][0]).query)
    assert waiting["organization"] == [acme.id]  # the /authorize request now names the organization
    page.screenshot(path=str(artifacts / "organization-login.png"))
    page.get_by_role("link", name=tenant.connection.label).click()

    page.get_by_role("heading", name="Sign in to the identity provider").wait_for()
    assert page.url.startswith(f"{live_identity_provider.issuer}/interaction/")
    page.get_by_label("Username").fill("jane")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="Authorize Acme Order Sync").wait_for()
    assert page.locator(".consent-organization").inner_text() == "Acme Corporation"
    page.screenshot(path=str(artifacts / "organization-consent.png"), full_page=True)
    page.get_by_role("button", name="Accept").click()

    page.wait_for_url(re.compile(r"/callback\?"))
    params = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    assert params["state"] == state and params["code"]
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=page.url, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["access_token"], ORDERS, live_server.url)
    assert (claims["sub"], claims["org_id"]) == ("oidc|acme|jane", acme.id)
    # The connection assigns membership on login; the consent is this organization's alone.
    assert OrganizationMember.objects.filter(organization=acme, user__uid="acme|jane").exists()
    assert list(UserGrant.objects.filter(client=tenant.app).values_list("organization_id", flat=True)) == [acme.id]
