"""SAML 2.0 metadata: reading an identity provider's (fetched from its URL or pasted), and writing
the two documents pysaml2 works from, the provider's (from the options we stored) and our own.

The provider's metadata is read once, when the options are checked, and what we need from it (its
entity id, its sign-in URLs, its signing certificates) is kept in the options: a sign-in never
waits on the provider's metadata URL, and a change there never takes effect unseen.
"""

from dataclasses import dataclass, field

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md, samlp
from saml2.metadata import do_key_descriptor
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED

from oauthcore.federation import http, saml_certs
from oauthcore.federation.base import FederationError

MAX_METADATA_BYTES = 1024 * 1024
SSO_BINDINGS = (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)


class MetadataError(ValueError):
    """Metadata that cannot be fetched or used; the message says why, for the admin."""


@dataclass
class IdpMetadata:
    entity_id: str
    sso_urls: dict[str, str] = field(default_factory=dict)  # binding -> location
    signing_certs: list = field(default_factory=list)  # cryptography certificates


def fetch(url: str) -> bytes:
    """The document at ``url``, within ``FEDERATION_TIMEOUT`` and 1 MiB; ``MetadataError`` otherwise."""
    accept = {"Accept": "application/samlmetadata+xml, application/xml"}
    try:
        return http.get_bytes(url, what="its metadata", headers=accept, max_bytes=MAX_METADATA_BYTES)
    except FederationError as exc:
        raise MetadataError(exc.message) from exc


def _entity_descriptors(xml: str | bytes) -> list:
    try:
        single = md.entity_descriptor_from_string(xml)
        if single is not None:
            return [single]
        several = md.entities_descriptor_from_string(xml)
    except Exception as exc:  # defusedxml and ElementTree raise several types for bad or hostile XML
        raise MetadataError("The metadata is not well-formed XML.") from exc
    if several is None:
        raise MetadataError("The metadata is neither an EntityDescriptor nor an EntitiesDescriptor.")
    return list(several.entity_descriptor)


def parse_idp(xml: str | bytes) -> IdpMetadata:
    """The one identity provider described by ``xml``, its SSO endpoints and signing certificates."""
    idps = [entity for entity in _entity_descriptors(xml) if entity.idpsso_descriptor]
    if not idps:
        raise MetadataError("The metadata describes no identity provider (no IDPSSODescriptor).")
    if len(idps) > 1:
        raise MetadataError("The metadata describes several identity providers: give the metadata of one.")
    entity = idps[0]
    descriptor = next(
        (d for d in entity.idpsso_descriptor if samlp.NAMESPACE in (d.protocol_support_enumeration or "")), None
    )
    if descriptor is None:
        raise MetadataError("The identity provider does not support SAML 2.0.")
    sso_urls = {}
    for service in descriptor.single_sign_on_service:
        if service.binding in SSO_BINDINGS and service.location:
            sso_urls.setdefault(service.binding, service.location)
    if not sso_urls:
        raise MetadataError("The identity provider has no SingleSignOnService for HTTP-Redirect or HTTP-POST.")
    certs = []
    for key in descriptor.key_descriptor:
        if key.use not in (None, "", "signing"):
            continue
        for data in key.key_info.x509_data if key.key_info else []:
            if data.x509_certificate is not None and data.x509_certificate.text:
                try:
                    certs.extend(saml_certs.load_certificates(data.x509_certificate.text))
                except saml_certs.BadCertificate as exc:
                    raise MetadataError("A signing certificate in the metadata cannot be read.") from exc
    if not certs:
        raise MetadataError("The identity provider publishes no signing certificate.")
    return IdpMetadata(entity_id=entity.entity_id, sso_urls=sso_urls, signing_certs=certs)


def idp_document(*, entity_id: str, sso_url: str, binding: str, certs_pem: str) -> str:
    """The provider's metadata as pysaml2 reads it, from the options we stored."""
    certs = [saml_certs.der_base64(cert) for cert in saml_certs.load_certificates(certs_pem)]
    descriptor = md.IDPSSODescriptor(
        protocol_support_enumeration=samlp.NAMESPACE,
        key_descriptor=do_key_descriptor(cert=certs, use="signing"),
        single_sign_on_service=[md.SingleSignOnService(binding=binding, location=sso_url)],
    )
    return str(md.EntityDescriptor(entity_id=entity_id, idpsso_descriptor=[descriptor]))


def sp_document(*, entity_id: str, acs_url: str, cert_pem: str, authn_requests_signed: bool) -> bytes:
    """Our metadata for one connection: its entity id, its ACS (HTTP-POST), its signing certificate."""
    certs = [saml_certs.der_base64(cert) for cert in saml_certs.load_certificates(cert_pem)] if cert_pem else []
    descriptor = md.SPSSODescriptor(
        protocol_support_enumeration=samlp.NAMESPACE,
        authn_requests_signed="true" if authn_requests_signed else "false",
        want_assertions_signed="true",
        key_descriptor=do_key_descriptor(cert=certs, use="signing") if certs else [],
        name_id_format=[md.NameIDFormat(text=NAMEID_FORMAT_UNSPECIFIED)],
        assertion_consumer_service=[
            md.AssertionConsumerService(binding=BINDING_HTTP_POST, location=acs_url, index="0", is_default="true")
        ],
    )
    document = md.EntityDescriptor(entity_id=entity_id, spsso_descriptor=[descriptor])
    return document.to_string()
