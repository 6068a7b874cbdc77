"""Identifiers and secrets: how they are generated and how secrets are stored."""

import hashlib
import secrets
import string

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare
from oauth2_provider.generators import BaseHashGenerator

from oauthcore.conf import portcullis_settings
from oauthcore.constants import (
    CLIENT_ID_LENGTH,
    THIRD_PARTY_CLIENT_ID_PREFIX,
    THIRD_PARTY_CLIENT_ID_RANDOM_LENGTH,
)

ALPHANUMERIC = string.ascii_letters + string.digits


def random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def random_hex_id() -> str:
    """A 24-hex identifier, the shape Auth0 gives resource servers, grants and users."""
    return secrets.token_hex(12)


def new_client_id(*, strict_third_party: bool = False) -> str:
    if strict_third_party:
        return THIRD_PARTY_CLIENT_ID_PREFIX + random_alphanumeric(THIRD_PARTY_CLIENT_ID_RANDOM_LENGTH)
    return random_alphanumeric(CLIENT_ID_LENGTH)


def new_client_secret() -> str:
    """384 random bits by default (64 URL-safe characters): far above the 256-bit floor."""
    return secrets.token_urlsafe(max(32, portcullis_settings.CLIENT_SECRET_BYTES))


def link_token_digest(token: str) -> str:
    """What is stored of a one-time link's token (an invitation, a connection setup link): its
    SHA-256, so the table holds no working link, and a lookup by digest finds only the real one."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_client_grant_id() -> str:
    return "cgr_" + random_alphanumeric(16)


def new_organization_id() -> str:
    return "org_" + random_alphanumeric(16)


def new_connection_id() -> str:
    return "con_" + random_alphanumeric(16)


class ClientIdGenerator(BaseHashGenerator):
    def hash(self):
        return new_client_id()


class ClientSecretGenerator(BaseHashGenerator):
    def hash(self):
        return new_client_secret()


class ClientSecretHasher(BasePasswordHasher):
    """Salted SHA-256 for machine-generated client secrets.

    A slow key derivation protects low-entropy passwords; a client secret carries 384 random bits,
    so one SHA-256 round is as hard to invert and keeps every token request in microseconds
    (a PBKDF2 check would cost about half a second of CPU per request). Never the first entry of
    ``PASSWORD_HASHERS``: user passwords keep Django's default.
    """

    algorithm = "portcullis_client_secret"

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded):
        return False

    def harden_runtime(self, password, encoded):
        pass
