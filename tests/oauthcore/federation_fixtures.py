"""The enterprise strategies' own test providers (tests/federation/), for the admin's and the setup
page's tests: panva's oidc-provider and pysaml2's identity provider, with the form data an admin or a
customer's IT admin would type about them.

The fixtures are imported by tests/oauthcore/conftest.py and tests/e2e/conftest.py.
"""

from tests.federation.conftest import identity_provider, saml_idp  # noqa: F401 - fixtures, re-exported
from tests.federation.oidc_idp import BASIC_CLIENT

JANE = {"name_id": "jane-saml", "email": "jane@acme.test", "name": "Jane Doe"}


def oidc_fields(provider, **overrides) -> dict:
    """The OpenID Connect fields as typed into a form (no prefix)."""
    return {
        "discovery_url": provider.discovery_url,
        "client_id": BASIC_CLIENT,
        "client_secret": provider.clients[BASIC_CLIENT],
        "scope": "openid profile email",
        "token_endpoint_auth_method": "",
        "domain_aliases": "acme.test",
        "icon_url": "",
        "attribute_map": "",
        **overrides,
    }


def saml_fields(idp, **overrides) -> dict:
    """The SAML fields as typed into a form: the provider's metadata pasted in."""
    return {
        "metadataUrl": "",
        "metadataXml": idp.metadata(),
        "signInEndpoint": "",
        "signingCert": "",
        "idpEntityId": "",
        "signatureAlgorithm": "rsa-sha256",
        "digestAlgorithm": "sha256",
        "protocolBinding": "",
        "fieldsMap": '{"email": "email", "name": "name"}',
        "domain_aliases": "acme-saml.test",
        "icon_url": "",
        **overrides,
    }


def saml_sign_in(client, idp, response, *, user=JANE):
    """Follow ``response`` (the redirect to the provider) as a browser: signed in there as ``user``,
    the provider's form posted to our ACS URL, and the same-site GET it is taken up by; the answer."""
    import requests

    from tests.federation.saml_idp import form_fields

    idp.login(user["name_id"], email=user["email"], name=user["name"])
    page = requests.get(response["Location"], timeout=10)
    assert page.status_code == 200, page.text[:500]
    acs = _form_action(page.text)
    posted = client.post(acs, form_fields(page.text))
    assert posted.status_code == 303, posted.content[:500]
    return client.get(posted["Location"])


def _form_action(page: str) -> str:
    import html
    import re

    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
    return action.removeprefix("http://127.0.0.1:8000")
