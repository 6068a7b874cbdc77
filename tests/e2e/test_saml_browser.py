"""A SAML sign-in as a person sees it, in a real headless Chromium: the partner's app sends them
to /authorize with ``connection=``, their company's identity provider (the pysaml2 test IdP) asks
them to sign in and posts its Response back, they consent, and land on the app's callback.

With the HTTP-POST binding, our page that posts the AuthnRequest on runs under the strict CSP
(no inline script): the browser proves its script file submits it."""

import re

import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from oauthcore.conf import portcullis_settings
from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import saml
from oauthcore.services.connections import connection_create
from tests.e2e.oauth_helpers import oauth_client
from tests.federation.saml_idp import SamlIdp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def saml_idp(live_server):
    idp = SamlIdp()
    idp.post_to = lambda acs: acs.replace(portcullis_settings.issuer, live_server.url)
    idp.accounts["jane"] = {"name_id": "E1234", "attributes": {"mail": ["jane@acme.example"], "givenName": ["Jane"]}}
    yield idp
    idp.close()


@pytest.fixture
def partner(make_partner_app, fake_app):
    application, _secret, orders = make_partner_app(f"{fake_app}/callback")
    return application, orders


@pytest.mark.parametrize("binding", [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
def test_saml_sign_in_in_the_browser(live_server, actor, saml_idp, partner, page, binding):
    connection = connection_create(
        actor=actor,
        name="acme-corp",
        strategy=ConnectionStrategy.SAML,
        is_domain_connection=True,
        options={"metadataUrl": saml_idp.entity_id, "protocolBinding": binding},
    )
    saml_idp.trust_sp(saml.sp_metadata(connection))
    app, orders = partner
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    client = oauth_client(app, None, app.callbacks[0], "read:orders")
    url, _ = client.create_authorization_url(
        f"{live_server.url}/authorize", code_verifier="b" * 50, audience=orders.identifier, connection=connection.name
    )

    page.goto(url)
    page.wait_for_url(f"{saml_idp.base}/sso/**")  # at the company's IdP, straight from /authorize
    page.get_by_label("User").fill("jane")
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("button", name="Accept").click()  # our consent page, after the IdP posted back
    page.wait_for_url(re.compile(r"/callback\?"))
    assert "code=" in page.url
    assert violations == []
    assert saml_idp.requests[-1].message.issuer.text == saml.sp_entity_id(connection)
