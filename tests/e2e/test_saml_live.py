"""Signing in to a partner's app through a customer's SAML identity provider, over real HTTP: the
live server, the pysaml2 test IdP on its own port, and an authlib client.

``/authorize?connection=`` goes straight to the provider (HTTP-Redirect binding), the provider
posts its signed Response to the ACS URL (SAML 2.0 Profiles §4.1.4), the same-site ``resume``
step signs the user in just in time, consent, then the code is exchanged: the token's ``sub`` is
``samlp|{connection}|{NameID}``.
"""

import re
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from django.contrib.auth import get_user_model

from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType, ConnectionStrategy, GrantType, SubjectType
from oauthcore.federation import saml
from oauthcore.models import FederatedAssertion
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_create, connection_set_enabled_clients
from oauthcore.services.tenant import tenant_settings_update
from tests.e2e.oauth_helpers import CSRF_RE, Browser, oauth_client, verify_jwt
from tests.federation.saml_idp import SamlIdp, form_fields

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "http://127.0.0.1:9999/callback"
VERIFIER = "s" * 50


@pytest.fixture
def saml_idp(live_server):
    idp = SamlIdp()
    # Our public URL (the issuer) stands in front of the live server, as a reverse proxy would.
    idp.post_to = lambda acs: acs.replace(portcullis_settings.issuer, live_server.url)
    yield idp
    idp.close()


@pytest.fixture
def acme(actor, saml_idp):
    """The customer's connection, set up from its IdP's metadata URL, open to third-party apps."""
    connection = connection_create(
        actor=actor,
        name="acme-corp",
        strategy=ConnectionStrategy.SAML,
        is_domain_connection=True,
        options={"metadataUrl": saml_idp.entity_id, "domain_aliases": ["acme.example"]},
    )
    saml_idp.trust_sp(saml.sp_metadata(connection))
    return connection


def post_idp_answer(browser: Browser, idp_location: str, connection):
    """What the signed-in IdP answers at ``idp_location`` (its auto-posting form's fields), posted
    back to our ACS as the browser would: (the fields, our answer)."""
    posted = form_fields(browser.session.get(idp_location, timeout=10).text)
    back = browser.session.post(
        browser.url(f"/login/callback?connection={connection.name}"), data=posted, allow_redirects=False
    )
    return posted, back


@pytest.fixture
def partner(make_partner_app):
    return make_partner_app(CALLBACK)


def test_sign_in_through_saml_to_a_token(live_server, acme, partner, saml_idp):
    app, secret, orders = partner
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    saml_idp.login("E1234", mail="jane@acme.example", givenName="Jane", sn="Doe")

    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier, connection=acme.name
    )
    to_idp = browser.authorize(url)
    assert to_idp.kind == "redirect" and to_idp.location.startswith(f"{saml_idp.base}/sso/redirect?")

    posted, back = post_idp_answer(browser, to_idp.location, acme)
    assert back.status_code == 303, back.text
    consent = browser.authorize(browser.url(back.headers["Location"]))
    assert consent.kind == "consent", consent.page_text
    done = browser.answer_consent(consent, accept=True)
    assert done.kind == "redirect" and done.location.startswith(CALLBACK)

    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=done.location, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["access_token"], orders.identifier, portcullis_settings.issuer)
    assert claims["sub"] == "samlp|acme-corp|E1234"
    assert FederatedAssertion.objects.filter(connection=acme).count() == 1

    # The same Response posted again (a replay from the browser's history) signs no one in.
    again = requests.post(f"{live_server.url}/login/callback?connection={acme.name}", data=posted, timeout=10)
    assert again.status_code == 400 and "already used" in again.text


def test_sp_metadata_is_served_for_the_customers_admin(live_server, acme):
    answer = requests.get(f"{live_server.url}/samlp/metadata?connection={acme.name}", timeout=10)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/samlmetadata+xml"
    assert saml.sp_entity_id(acme).encode() in answer.content
    assert urlsplit(saml.acs_url(acme)).query.encode() in answer.content


def test_home_realm_discovery_sends_an_email_of_the_domain_to_its_idp(live_server, acme, partner, saml_idp):
    """Identifier first at /login: an address of a domain in ``domain_aliases`` needs no password
    here, it goes to the connection's provider; the user arrives with the provider's attributes."""
    app, secret, orders = partner
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    saml_idp.login("E777", mail="kim@acme.example", givenName="Kim")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier
    )
    login_page = browser.authorize(url).response
    assert "/login" in login_page.url

    sent = browser.submit_login(login_page, "kim@acme.example", password="")
    to_idp = browser.authorize(browser.url(sent.headers["Location"]))
    assert to_idp.kind == "redirect" and to_idp.location.startswith(f"{saml_idp.base}/sso/redirect?")
    _posted, back = post_idp_answer(browser, to_idp.location, acme)
    consent = browser.authorize(browser.url(back.headers["Location"]))

    assert consent.kind == "consent", consent.page_text
    user = get_user_model().objects.get(connection=acme, uid="acme-corp|E777")
    assert user.user_id == "samlp|acme-corp|E777"
    assert (user.email, user.first_name) == ("kim@acme.example", "Kim")


def test_a_first_party_app_signs_in_through_the_saml_connection_enabled_for_it(
    live_server, actor, acme, saml_idp, make_api, make_grant
):
    """The tenant's own app: refused until the connection is enabled for it (rule 6), then the same
    sign-in ends with a token for the federated user."""
    orders = make_api(identifier="https://orders.example.com/", scopes=[("read:orders", "Read your orders")])
    issued = application_create(
        actor=actor,
        name="Acme Intranet",
        app_type=AppType.REGULAR_WEB,
        callbacks=[CALLBACK],
        grant_types=[GrantType.AUTHORIZATION_CODE],
    )
    app, secret = issued.application, issued.client_secret
    make_grant(orders, client=app, scope=["read:orders"], subject_type=SubjectType.USER)
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    saml_idp.login("E1234", mail="jane@acme.example")

    def authorize():
        url, _ = client.create_authorization_url(
            f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier, connection=acme.name
        )
        return Browser(live_server.url), url

    browser, url = authorize()
    refused = browser.authorize(url)
    assert refused.kind == "redirect" and refused.params["error"] == "invalid_request"  # its errors redirect

    connection_set_enabled_clients(actor=actor, connection=acme, changes={app.pk: True})
    browser, url = authorize()
    to_idp = browser.authorize(url)
    assert to_idp.kind == "redirect" and to_idp.location.startswith(f"{saml_idp.base}/sso/redirect?")
    _posted, back = post_idp_answer(browser, to_idp.location, acme)
    done = browser.authorize(browser.url(back.headers["Location"]))
    if done.kind == "consent":
        done = browser.answer_consent(done, accept=True)
    assert done.kind == "redirect" and done.location.startswith(CALLBACK)
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=done.location, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["access_token"], orders.identifier, portcullis_settings.issuer)
    assert claims["sub"] == "samlp|acme-corp|E1234"


def test_with_the_mfa_policy_always_a_saml_user_enrolls_a_second_factor_before_the_app(
    live_server, actor, acme, partner, saml_idp
):
    """The provider's login is the first factor; the tenant's policy still asks for a second one,
    enrolled here at the first login, and the token's amr says what this server checked."""
    tenant_settings_update(actor=actor, mfa_policy="always")
    app, secret, orders = partner
    client = oauth_client(app, secret, CALLBACK, "read:orders")
    browser = Browser(live_server.url)
    saml_idp.login("E7777", mail="lee@acme.example", givenName="Lee", sn="Park")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier=VERIFIER, audience=orders.identifier, connection=acme.name
    )
    _posted, back = post_idp_answer(browser, browser.authorize(url).location, acme)
    enroll = browser.authorize(browser.url(back.headers["Location"])).response
    assert urlsplit(enroll.url).path == "/login/mfa/enroll", enroll.text
    key = re.search(r"data-totp-secret>([A-Z2-7]+)<", enroll.text).group(1)
    codes = browser.session.post(
        enroll.url,
        data={"csrfmiddlewaretoken": CSRF_RE.search(enroll.text).group(1), "code": pyotp.TOTP(key).now()},
        headers={"Referer": enroll.url},
    )
    assert codes.status_code == 200 and "Your recovery codes" in codes.text
    next_url = re.search(r'class="button primary" href="([^"]+)"', codes.text).group(1).replace("&amp;", "&")
    done = browser.answer_consent(browser.authorize(browser.url(next_url)), accept=True)
    token = client.fetch_token(
        f"{live_server.url}/oauth/token", authorization_response=done.location, code_verifier=VERIFIER
    )
    claims = verify_jwt(live_server.url, token["access_token"], orders.identifier, portcullis_settings.issuer)
    assert claims["sub"] == "samlp|acme-corp|E7777" and claims["amr"] == ["otp", "mfa"]
