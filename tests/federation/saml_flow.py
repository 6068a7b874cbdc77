"""Driving ``samlp``'s ``begin`` and ``complete`` as the sign-in flow does, with Django's
RequestFactory on our side and the real test identity provider on the other."""

import base64
from urllib.parse import parse_qs, urlsplit

import requests
from django.test import RequestFactory
from saml2 import BINDING_HTTP_REDIRECT

from oauthcore.federation import saml
from tests.federation.saml_idp import form_fields

factory = RequestFactory()


def begin(connection, state="state-1"):
    """``begin``'s response and flow data."""
    return saml.STRATEGY.begin(factory.get(f"/login/connection/{connection.name}"), connection, state=state)


def send_to_idp(idp, response):
    """Hand the redirect's AuthnRequest to the provider (in process); the parsed request."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    return idp.receive(BINDING_HTTP_REDIRECT, params)


def sign_in_over_http(idp, response) -> dict:
    """Follow the redirect to the provider over HTTP; the fields of the form it posts back."""
    page = requests.get(response["Location"], timeout=10)
    assert page.status_code == 200, page.text
    return form_fields(page.text)


def complete(connection, data, saml_response, relay_state="state-1"):
    request = factory.post(saml.acs_url(connection), {"SAMLResponse": saml_response, "RelayState": relay_state})
    return saml.STRATEGY.complete(request, connection, flow=data)


def decoded(saml_response: str) -> str:
    return base64.b64decode(saml_response).decode()


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()
