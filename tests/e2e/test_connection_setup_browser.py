"""A customer's IT admin sets up their OpenID Connect provider from a setup link, in a real Chromium:
the link, the guided page, the test sign-in at panva's oidc-provider, activation, and then one of
their users signing in through it by typing their work email at /login."""

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from oauthcore.audit import Actor
from oauthcore.models import Connection, User
from oauthcore.services.connection_setup import setup_link_create
from oauthcore.services.connections import connection_create
from tests.e2e.console import WIDTHS, overflow
from tests.federation.oidc_idp import BASIC_CLIENT, PASSWORD, start_identity_provider, stop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served_provider(live_server, settings, tmp_path):
    """Portcullis's issuer is the live server, and the provider accepts its callback."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": live_server.url}
    provider = start_identity_provider([f"{live_server.url}/login/callback"], tmp_path / "oidc-provider.log")
    yield provider
    stop(provider)


def sign_in_at_provider(page, username="jane"):
    page.wait_for_selector("text=Sign in to the identity provider")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")


def test_an_it_admin_sets_up_their_provider_from_the_link(live_server, page, served_provider, artifacts):
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    issued = setup_link_create(
        actor=Actor.system("tests"), strategy="oidc", connection_name="acme", customer_label="Acme Corp"
    )

    page.goto(f"{live_server.url}{reverse('connection-setup-link', args=[issued.token])}")

    assert page.url == f"{live_server.url}/connection-setup/"  # the token is no longer in the address bar
    redirect_uri = page.get_by_label("Redirect URI (callback URL)")
    assert redirect_uri.input_value() == f"{live_server.url}/login/callback"
    page.fill("#id_details-display_name", "Acme employees")
    page.fill("#id_details-discovery_url", served_provider.discovery_url)
    page.fill("#id_details-client_id", BASIC_CLIENT)
    page.fill("#id_details-client_secret", "not-the-secret")
    page.fill("#id_details-scope", "profile")  # no openid: refused on the field
    page.fill("#id_details-domain_aliases", "acme.test")
    page.click("button:has-text('Save')")
    assert "openid" in page.locator("#details .has-error").inner_text()

    page.fill("#id_details-scope", "openid profile email")
    page.fill("#id_details-client_secret", served_provider.clients[BASIC_CLIENT])
    page.click("button:has-text('Save')")
    page.wait_for_selector("#test-sign-in")
    connection = Connection.objects.get(name="acme")
    assert not connection.is_enabled
    assert served_provider.clients[BASIC_CLIENT] not in page.content()

    page.click("#test-sign-in")
    sign_in_at_provider(page)
    page.wait_for_selector("#test-result")
    assert "jane@acme.test" in page.locator("#test-result").inner_text()
    page.screenshot(path=str(artifacts / "connection-setup-tested.png"), full_page=True)

    page.click("#activate-connection")
    page.wait_for_selector("text=Your connection is active")
    connection.refresh_from_db()
    assert connection.is_enabled and not connection.is_domain_connection
    assert User.objects.filter(connection=connection).count() == 0  # the test signed nobody up

    page.goto(f"{live_server.url}/login")  # a user of theirs, by their work email (home-realm discovery)
    page.fill("#id_username", "jane@acme.test")
    page.click("button:has-text('Log in')")
    page.wait_for_url(lambda url: not url.startswith(served_provider.issuer) and "/login" not in url)
    assert User.objects.get(connection=connection).user_id == "oidc|acme|jane"
    assert violations == []


@pytest.fixture
def served_saml_idp(live_server, settings, saml_idp):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": live_server.url}
    saml_idp.accounts = {
        "jane": {"name_id": "jane-saml", "attributes": {"email": ["jane@acme.test"], "name": ["Jane"]}}
    }
    return saml_idp


def test_an_it_admin_sets_up_their_saml_provider_from_the_link(live_server, page, served_saml_idp, tmp_path):
    issued = setup_link_create(
        actor=Actor.system("tests"), strategy="samlp", connection_name="acme-saml", customer_label="Acme Corp"
    )
    page.goto(f"{live_server.url}{reverse('connection-setup-link', args=[issued.token])}")
    assert page.get_by_label("Entity ID (audience)").input_value() == "urn:portcullis:127.0.0.1:acme-saml"
    acs = page.get_by_label("Assertion consumer service URL (reply URL)").input_value()
    assert acs == f"{live_server.url}/login/callback?connection=acme-saml"

    page.fill("#id_details-metadataXml", served_saml_idp.metadata())
    page.fill("#id_details-fieldsMap", '{"email": "email", "name": "name"}')
    page.click("button:has-text('Save')")
    with page.expect_download() as download:
        page.click("text=Download our SAML metadata")
    served_saml_idp.trust_sp(download.value.path().read_bytes())  # the IT admin loads it into their provider

    page.click("#test-sign-in")
    page.fill("input[name=username]", "jane")
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("#test-result")
    assert "jane@acme.test" in page.locator("#test-result").inner_text()

    page.click("#activate-connection")
    page.wait_for_selector("text=Your connection is active")
    assert Connection.objects.get(name="acme-saml").is_enabled


@pytest.mark.parametrize("width", WIDTHS)
def test_an_enterprise_connection_page_and_the_setup_page_fit_the_window(console, identity_provider, width):
    from tests.oauthcore.federation_fixtures import oidc_fields

    options = {name: value for name, value in oidc_fields(identity_provider).items() if value}
    connection = connection_create(
        actor=Actor.system("tests"),
        name="acme-with-a-rather-long-connection-name",
        strategy="oidc",
        options={**options, "domain_aliases": ["acme.test"]},
    )
    page = console.open(f"/admin/oauthcore/connection/{quote(connection.pk)}/change/", width=width)
    assert page.locator("#test-connection").is_visible()
    assert page.locator("#id_client_secret").input_value() == ""  # never rendered back
    assert overflow(page) == 0
    console.shoot(page, "connection-oidc", width)

    issued = setup_link_create(
        actor=Actor.system("tests"), strategy="samlp", connection_name="acme-saml", customer_label="Acme Corp"
    )
    setup = console.open(reverse("connection-setup-link", args=[issued.token]), width=width, username=None)
    assert setup.locator("#details").is_visible()
    assert overflow(setup) == 0
    console.shoot(setup, "connection-setup", width)
