"""X.509 certificates and keys for SAML connections: the identity provider's signing certificates
(read from metadata or pasted by an admin, in whichever of the usual encodings), and the key pair
Portcullis signs its own AuthnRequests with, one per connection."""

import base64
import binascii
import datetime
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)
SP_CERT_YEARS = 10  # SAML peers pin the certificate itself: its dates are not what they check


class BadCertificate(ValueError):
    """The text holds no X.509 certificate we can read."""


def _der_blocks(text: str) -> list[bytes]:
    """The DER bytes of each certificate in ``text``: PEM (one or several), base64 of a PEM file
    (Auth0's ``signingCert``), or base64 of one DER certificate (a metadata ``X509Certificate``)."""
    text = (text or "").strip()
    if "-----BEGIN" not in text:
        try:
            decoded = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadCertificate("Not a PEM certificate, nor base64.") from exc
        if b"-----BEGIN CERTIFICATE-----" in decoded:
            text = decoded.decode("ascii", "replace")
        else:
            return [decoded]
    blocks = []
    for body in PEM_CERT_RE.findall(text):
        try:
            blocks.append(base64.b64decode("".join(body.split()), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise BadCertificate("A PEM block is not valid base64.") from exc
    if not blocks:
        raise BadCertificate("No certificate found in the text.")
    return blocks


def load_certificates(text: str) -> list[x509.Certificate]:
    certificates = []
    for der in _der_blocks(text):
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise BadCertificate("Not an X.509 certificate.") from exc
    return certificates


def to_pem(certificates: list[x509.Certificate]) -> str:
    return "".join(cert.public_bytes(serialization.Encoding.PEM).decode() for cert in certificates)


def der_base64(certificate: x509.Certificate) -> str:
    """The certificate as a metadata ``X509Certificate`` element holds it."""
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def thumbprint(certificate: x509.Certificate) -> str:
    """The SHA-1 fingerprint in hex, the form Auth0's ``thumbprints`` option shows."""
    return certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (an identifier, not a signature)


def new_sp_key_pair(common_name: str) -> tuple[str, str]:
    """A fresh RSA-2048 key and a self-signed certificate for it, both PEM: what a connection's
    AuthnRequests are signed with, and what its SP metadata publishes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        self_signed_cert(key, common_name),
    )


def self_signed_cert(key, common_name: str) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * SP_CERT_YEARS))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_private_key(pem: str):
    """An RSA private key from PEM; ``ValueError`` when it is not one."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("Not an RSA key.")
    return key


def key_matches_cert(key, cert_pem: str) -> bool:
    certificate = load_certificates(cert_pem)[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.public_key().public_bytes(serialization.Encoding.DER, pub) == key.public_key().public_bytes(
        serialization.Encoding.DER, pub
    )
