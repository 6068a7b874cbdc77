"""Our SP metadata, as the customer's identity provider reads it (SAML 2.0 Metadata §2.4.4): read
back with pysaml2, it names the connection's entity id, its ACS URL (HTTP-POST) and the
certificate its AuthnRequests are signed with."""

import pytest
from cryptography import x509
from saml2 import BINDING_HTTP_POST
from saml2.md import entity_descriptor_from_string

from oauthcore.federation import saml
from oauthcore.federation.saml_certs import load_certificates

pytestmark = pytest.mark.django_db


def test_sp_metadata_names_entity_id_acs_and_certificate(make_saml_connection, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": "https://login.acme-portal.example"}
    connection = make_saml_connection("acme", signSAMLRequest=True)

    entity = entity_descriptor_from_string(saml.sp_metadata(connection))

    assert entity.entity_id == saml.sp_entity_id(connection) == "urn:portcullis:login.acme-portal.example:acme"
    descriptor = entity.spsso_descriptor[0]
    (acs,) = descriptor.assertion_consumer_service
    assert (acs.binding, acs.location) == (
        BINDING_HTTP_POST,
        "https://login.acme-portal.example/login/callback?connection=acme",
    )
    assert acs.location == saml.acs_url(connection)
    assert descriptor.authn_requests_signed == "true"
    published = load_certificates(descriptor.key_descriptor[0].key_info.x509_data[0].x509_certificate.text)
    assert published == [x509.load_pem_x509_certificate(connection.options["sp_signing_cert"].encode())]


def test_the_identity_provider_loads_our_metadata(make_saml_connection, saml_idp):
    """pysaml2's own IdP trusts the SP from this document alone (the fixture loads it)."""
    connection = make_saml_connection()

    assert saml_idp.server.metadata.assertion_consumer_service(saml.sp_entity_id(connection), BINDING_HTTP_POST)[0][
        "location"
    ] == saml.acs_url(connection)
