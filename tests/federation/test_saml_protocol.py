"""The SAML 2.0 Web Browser SSO profile (SAML 2.0 Profiles §4.1), SP-initiated, through
``STRATEGY.begin`` and ``complete`` against the real test identity provider over HTTP."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from saml2 import BINDING_HTTP_POST
from saml2.samlp import STATUS_AUTHN_FAILED, STATUS_RESPONDER, Status, StatusCode

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import saml
from oauthcore.federation.base import FederationError
from oauthcore.models import Connection
from tests.federation import saml_flow
from tests.federation.saml_idp import form_fields

pytestmark = pytest.mark.django_db


def test_redirect_binding_sign_in(make_saml_connection, saml_idp):
    """HTTP-Redirect binding (SAML 2.0 Bindings §3.4): RelayState carries the flow's state; the
    Response is verified and the NameID and attributes become the profile."""
    connection = make_saml_connection()
    saml_idp.login("alice-0001", mail="alice@acme.example", givenName="Alice", sn="Liddell", displayName="Alice L.")

    response, data = saml_flow.begin(connection, state="st-42")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(f"{saml_idp.base}/sso/redirect?")
    assert query["RelayState"] == ["st-42"]
    assert "Signature" not in query  # signSAMLRequest is off
    fields = saml_flow.sign_in_over_http(saml_idp, response)
    assert saml_idp.requests[-1].message.id == data["request_id"]
    assert saml_idp.requests[-1].message.issuer.text == saml.sp_entity_id(connection)
    assert fields["RelayState"] == "st-42"

    profile = saml_flow.complete(connection, data, fields["SAMLResponse"], "st-42")

    assert profile.subject == "alice-0001"
    assert profile.attributes == {
        "email": "alice@acme.example",
        "given_name": "Alice",
        "family_name": "Liddell",
        "name": "Alice L.",
    }
    assert profile.raw["urn:oid:0.9.2342.19200300.100.1.3"] == ["alice@acme.example"]


def test_post_binding_page_runs_no_inline_script(make_saml_connection, saml_idp):
    """HTTP-POST binding (SAML 2.0 Bindings §3.5): our page posts the AuthnRequest to the IdP with
    no inline script (our own script file, a button without script) under a policy whose form
    may go to the identity provider only."""
    connection = make_saml_connection(protocolBinding=BINDING_HTTP_POST)
    saml_idp.login("bob-7", mail="bob@acme.example")

    response, data = saml_flow.begin(connection, state="st-post")

    page = response.content.decode()
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert f"form-action {saml_idp.base}" in csp
    assert re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page) is None  # every script is a file
    assert f'action="{saml_idp.base}/sso/post"' in page and '<button type="submit"' in page
    request_fields = dict(re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', page))
    assert request_fields["RelayState"] == "st-post"

    answer = requests.post(f"{saml_idp.base}/sso/post", data=request_fields, timeout=10)
    fields = form_fields(answer.text)
    profile = saml_flow.complete(connection, data, fields["SAMLResponse"], "st-post")

    assert (profile.subject, profile.attributes["email"]) == ("bob-7", "bob@acme.example")


@pytest.mark.parametrize(
    ("binding", "algorithm"),
    [("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", "rsa-sha256"), (BINDING_HTTP_POST, "rsa-sha1")],
)
def test_signed_requests_are_accepted_by_an_idp_that_requires_them(make_saml_connection, saml_idp, binding, algorithm):
    """signSAMLRequest: the query string is signed (Bindings §3.4.4.1) or the request carries an
    enveloped signature (§3.5.4), with our key published in the SP metadata."""
    connection = make_saml_connection(
        require_signed_requests=True, signSAMLRequest=True, protocolBinding=binding, signatureAlgorithm=algorithm
    )
    saml_idp.login("carol")

    response, data = saml_flow.begin(connection)
    if binding == BINDING_HTTP_POST:
        request_fields = dict(re.findall(r'name="(SAMLRequest|RelayState)" value="([^"]*)"', response.content.decode()))
        answer = requests.post(f"{saml_idp.base}/sso/post", data=request_fields, timeout=10)
        assert answer.status_code == 200, answer.text
        fields = form_fields(answer.text)
    else:
        assert parse_qs(urlsplit(response["Location"]).query)["SigAlg"] == [
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        ]
        fields = saml_flow.sign_in_over_http(saml_idp, response)

    assert saml_flow.complete(connection, data, fields["SAMLResponse"]).subject == "carol"


def test_an_idp_requiring_signed_requests_refuses_unsigned_ones(make_saml_connection, saml_idp):
    connection = make_saml_connection(require_signed_requests=True)
    saml_idp.login("carol")

    response, _ = saml_flow.begin(connection)

    assert requests.get(response["Location"], timeout=10).status_code == 400


def test_fields_map_names_the_attributes(make_saml_connection, saml_idp):
    """fieldsMap (Auth0's shape): profile field -> attribute name, or several tried in order."""
    email_claim = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
    connection = make_saml_connection(fieldsMap={"email": email_claim, "nickname": ["handle", "uid"]})
    saml_idp.login("dave", **{email_claim: "dave@acme.example", "uid": "dvd", "mail": "other@acme.example"})

    response, data = saml_flow.begin(connection)
    profile = saml_flow.complete(connection, data, saml_flow.sign_in_over_http(saml_idp, response)["SAMLResponse"])

    assert profile.attributes["email"] == "dave@acme.example"
    assert profile.attributes["nickname"] == "dvd"


def test_a_signed_response_with_an_unsigned_assertion_is_accepted(make_saml_connection, saml_idp):
    """Profiles §4.1.3.5: the assertion is signed, or the Response that carries it."""
    connection = make_saml_connection()
    saml_idp.login("erin")
    response, data = saml_flow.begin(connection)
    request = saml_flow.send_to_idp(saml_idp, response)

    signed = saml_idp.response_for(request, sign_response=True, sign_assertion=False)

    assert saml_flow.complete(connection, data, signed).subject == "erin"


def test_the_idp_refusing_the_sign_in_is_said_plainly(make_saml_connection, saml_idp):
    """A non-Success status (Core §3.2.2.2) is the IdP's no: a FederationError, not a 500."""
    connection = make_saml_connection()
    saml_idp.login("frank")
    response, data = saml_flow.begin(connection)
    request = saml_flow.send_to_idp(saml_idp, response)

    def refuse(message):
        message.status = Status(
            status_code=StatusCode(value=STATUS_RESPONDER, status_code=StatusCode(value=STATUS_AUTHN_FAILED))
        )
        message.assertion = message.assertion[:1]

    refused = saml_idp.response_for(request, sign_response=True, sign_assertion=False, mutate=refuse)

    with pytest.raises(FederationError) as caught:
        saml_flow.complete(connection, data, refused)
    assert caught.value.reason == "idp_error"
    assert caught.value.message == "Your identity provider did not sign you in."


def test_a_connection_whose_options_were_never_checked_is_a_misconfiguration(saml_idp):
    """Made without its strategy's checks (as the admin's raw model form could): no 500 anywhere."""
    connection = Connection.objects.create(name="half-done", strategy=ConnectionStrategy.SAML)

    with pytest.raises(FederationError) as at_begin:
        saml_flow.begin(connection)
    with pytest.raises(FederationError) as at_complete:
        saml_flow.complete(connection, {"request_id": "id-1"}, "PHg+PC94Pg==")

    assert at_begin.value.reason == at_complete.value.reason == "misconfigured"
    assert b"AssertionConsumerService" in saml.sp_metadata(connection)


def test_our_signing_key_is_never_logged(make_saml_connection, saml_idp, caplog):
    """pysaml2 logs at length at DEBUG; our key's PEM goes to xmlsec1 as a private file, never to a log."""
    connection = make_saml_connection(require_signed_requests=True, signSAMLRequest=True)
    saml_idp.login("grace")
    key_lines = connection.secrets["signing_key"].splitlines()[1:-1]

    with caplog.at_level("DEBUG"):
        response, data = saml_flow.begin(connection)
        saml_flow.complete(connection, data, saml_flow.sign_in_over_http(saml_idp, response)["SAMLResponse"])

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged and not any(line in logged for line in key_lines)
