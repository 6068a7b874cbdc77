"""``samlp`` options in Auth0's shapes: the identity provider from its metadata (URL or XML) or by
hand, normalised into the options; Portcullis's own signing key generated and sealed; errors by
option name, never a 500, when the metadata is bad or its URL is down or slow."""

import base64
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import saml
from oauthcore.services.connections import connection_create, connection_update

pytestmark = pytest.mark.django_db

check = saml.STRATEGY.check_options


def idp_cert_pem(idp) -> str:
    with open(idp.cert_file) as handle:
        return handle.read()


def test_metadata_url_is_fetched_and_normalised(saml_idp):
    result = check({"metadataUrl": saml_idp.entity_id, "domain_aliases": ["Acme.Example"]}, current=None)

    assert result.errors == {}
    options = result.options
    assert options["idpEntityId"] == saml_idp.entity_id
    assert options["protocolBinding"] == BINDING_HTTP_REDIRECT  # the default, when the IdP offers it
    assert options["signInEndpoint"] == f"{saml_idp.base}/sso/redirect"
    assert x509.load_pem_x509_certificate(options["signingCert"].encode()) == x509.load_pem_x509_certificate(
        idp_cert_pem(saml_idp).encode()
    )
    assert len(options["thumbprints"]) == 1
    assert (options["signatureAlgorithm"], options["digestAlgorithm"]) == ("rsa-sha256", "sha256")
    assert options["signSAMLRequest"] is False
    assert options["domain_aliases"] == ["acme.example"]


def test_our_signing_key_is_generated_sealed_and_its_certificate_public(saml_idp):
    result = check({"metadataUrl": saml_idp.entity_id}, current=None)

    assert "signing_key" not in result.options and "signing_key" in saml.STRATEGY.secret_options
    key = serialization.load_pem_private_key(result.secrets["signing_key"].encode(), password=None)
    cert = x509.load_pem_x509_certificate(result.options["sp_signing_cert"].encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_an_update_keeps_the_key_and_refetches_the_metadata(actor, saml_idp):
    connection = connection_create(
        actor=actor, name="acme", strategy=ConnectionStrategy.SAML, options={"metadataUrl": saml_idp.entity_id}
    )
    key, cert = connection.secrets["signing_key"], connection.options["sp_signing_cert"]

    updated = check({"metadataUrl": saml_idp.entity_id, "protocolBinding": BINDING_HTTP_POST}, current=connection)

    assert updated.errors == {}
    assert updated.secrets == {}  # no new secret: the sealed key stays
    assert updated.options["sp_signing_cert"] == cert
    assert updated.options["signInEndpoint"] == f"{saml_idp.base}/sso/post"
    connection_update(actor=actor, connection=connection, options=updated.options)
    connection.refresh_from_db()
    assert (connection.secrets["signing_key"], connection.options["sp_signing_cert"]) == (key, cert)


def test_our_own_key_can_be_brought_and_must_match_its_certificate(saml_idp, make_saml_connection):
    other = make_saml_connection()
    mine = check({"metadataUrl": saml_idp.entity_id}, current=None).secrets["signing_key"]

    brought = check({"metadataUrl": saml_idp.entity_id, "signing_key": mine}, current=None)
    mismatched = check(
        {"metadataUrl": saml_idp.entity_id, "signing_key": mine, "sp_signing_cert": other.options["sp_signing_cert"]},
        current=None,
    )

    assert brought.errors == {} and brought.secrets == {"signing_key": mine}
    assert mismatched.errors == {"sp_signing_cert": "The certificate is not signing_key's."}


def test_metadata_xml_is_read_like_the_url(saml_idp):
    result = check({"metadataXml": saml_idp.metadata(), "protocolBinding": BINDING_HTTP_POST}, current=None)

    assert result.errors == {}
    assert result.options["idpEntityId"] == saml_idp.entity_id
    assert result.options["signInEndpoint"] == f"{saml_idp.base}/sso/post"


@pytest.mark.parametrize("encoding", ["pem", "base64-of-pem", "base64-der"])
def test_by_hand_sign_in_endpoint_and_certificate_in_any_usual_encoding(saml_idp, encoding):
    pem = idp_cert_pem(saml_idp)
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    cert = {
        "pem": pem,
        "base64-of-pem": base64.b64encode(pem.encode()).decode(),  # what Auth0's signingCert takes
        "base64-der": base64.b64encode(der).decode(),
    }[encoding]
    result = check(
        {"signInEndpoint": f"{saml_idp.base}/sso/redirect", "signingCert": cert, "idpEntityId": saml_idp.entity_id},
        current=None,
    )

    assert result.errors == {}
    assert (
        x509.load_pem_x509_certificate(result.options["signingCert"].encode()).public_bytes(serialization.Encoding.DER)
        == der
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("options", "option", "says"),
    [
        ({}, "metadataUrl", "Give metadataUrl, metadataXml"),
        ({"metadataXml": "<EntityDescriptor"}, "metadataXml", "not well-formed XML"),
        ({"metadataXml": "<a><b/></a>"}, "metadataXml", "neither an EntityDescriptor"),
        ({"metadataUrl": "ftp://idp.example/metadata"}, "metadataUrl", "Must be an https URL"),
        ({"metadataUrl": "http://idp.example/metadata"}, "metadataUrl", "http only for a provider on this machine"),
        ({"signInEndpoint": "https://idp.example/sso", "signingCert": "not a cert"}, "signingCert", "cannot be read"),
        ({"signInEndpoint": "https://idp.example/sso"}, "signingCert", "signing certificate"),
        ({"signatureAlgorithm": "hmac-md5"}, "signatureAlgorithm", "rsa-sha256"),
        ({"digestAlgorithm": "md5"}, "digestAlgorithm", "sha256"),
        ({"protocolBinding": "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"}, "protocolBinding", "HTTP-POST"),
        ({"fieldsMap": {"email": 7}}, "fieldsMap", "email"),
        ({"fieldsMap": {"password": "pw"}}, "fieldsMap", "Unknown profile field"),
        ({"domain_aliases": ["not a domain"]}, "domain_aliases", "Not an email domain"),
        ({"signSAMLRequest": "yes"}, "signSAMLRequest", "true or false"),
        ({"signing_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "signing_key", "RSA"),
    ],
)
def test_errors_by_option_name(saml_idp, options, option, says):
    base = (
        {}
        if not options or any(k in options for k in ("metadataXml", "metadataUrl", "signInEndpoint"))
        else {"metadataUrl": saml_idp.entity_id}
    )
    result = check({**base, **options}, current=None)

    assert says in result.errors[option]
    assert result.options == {} and result.secrets == {}


def test_metadata_without_an_identity_provider_is_refused(saml_idp, make_saml_connection):
    sp_only = saml.sp_metadata(make_saml_connection()).decode()

    assert "no identity provider" in check({"metadataXml": sp_only}, current=None).errors["metadataXml"]


def test_metadata_without_a_signing_certificate_is_refused(saml_idp):
    document = saml_idp.metadata()
    start, end = document.index("<ns0:KeyDescriptor"), document.index("</ns0:KeyDescriptor>")
    without_keys = document[:start] + document[end + len("</ns0:KeyDescriptor>") :]

    assert "no signing certificate" in check({"metadataXml": without_keys}, current=None).errors["metadataXml"]


def test_metadata_without_the_chosen_binding_is_refused(saml_idp):
    document = saml_idp.metadata().replace(f"{saml_idp.base}/sso/post", "").replace(BINDING_HTTP_POST, "urn:x")

    errors = check({"metadataXml": document, "protocolBinding": BINDING_HTTP_POST}, current=None).errors

    assert "no sign-in endpoint for this binding" in errors["protocolBinding"]


def test_unreachable_metadata_url():
    result = check({"metadataUrl": f"http://127.0.0.1:{closed_port()}/metadata"}, current=None)

    assert result.errors == {
        "metadataUrl": "The identity provider could not be reached (its metadata). Try again later."
    }


def test_metadata_url_answering_an_error(saml_idp):
    saml_idp.metadata_mode = "error"

    assert check({"metadataUrl": saml_idp.entity_id}, current=None).errors == {
        "metadataUrl": "The identity provider answered HTTP 500 (its metadata)."
    }


def test_slow_metadata_url_times_out_within_federation_timeout(saml_idp, settings):
    """FEDERATION_TIMEOUT bounds the fetch: the admin gets an error, not a hung request."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "FEDERATION_TIMEOUT": 0.5}
    saml_idp.metadata_mode, saml_idp.metadata_delay = "slow", 2

    assert check({"metadataUrl": saml_idp.entity_id}, current=None).errors == {
        "metadataUrl": "The identity provider did not answer in time (its metadata, 0.5 s). Try again in a moment."
    }
