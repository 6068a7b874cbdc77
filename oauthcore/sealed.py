"""Secrets Portcullis must read back (a connection's client secret, its SAML signing key), sealed
at rest with a key derived from ``SECRET_KEY``.

Unlike an app's client secret, which is only ever compared and so is hashed, these are sent to (or
used to sign for) an identity provider, so they are encrypted instead (Fernet: AES-128-CBC with an
HMAC-SHA256). What was sealed under a key in ``SECRET_KEY_FALLBACKS`` still opens, and is sealed
again under the current key at its next write.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

PURPOSE = b"portcullis.sealed-secrets"


class SealBroken(Exception):
    """Nothing in ``SECRET_KEY`` or its fallbacks opens the sealed value."""


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(PURPOSE + b"\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    return MultiFernet([_fernet(key) for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)])


def seal(values: dict[str, str]) -> str:
    """``values`` encrypted; an empty dict seals to the empty string."""
    if not values:
        return ""
    return _keys().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_keys().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SealBroken("The stored secrets cannot be read with SECRET_KEY or SECRET_KEY_FALLBACKS.") from exc
