"""The token signing keys: create, rotate, publish, and the one that signs now.

Private keys are encrypted at rest with a key derived from SECRET_KEY (so a database dump alone
does not give them away). The active key is cached in each process for a short while; after a
rotation, old tokens keep verifying because retired keys stay in the JWKS until
``MAX_TOKEN_LIFETIME`` after their retirement.
"""

import base64
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk

from oauthcore.audit import Actor, record_event
from oauthcore.constants import MAX_TOKEN_LIFETIME
from oauthcore.models import SigningKey

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
CACHE_SECONDS = 30

_cache_lock = threading.Lock()
_cache: dict = {"key": None, "loaded_at": 0.0}


@dataclass(frozen=True)
class ActiveKey:
    jwk: jwk.JWK
    kid: str

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The key as ``cryptography`` signs with it (access tokens skip jwcrypto's layers)."""
        return self.jwk.get_op_key("sign")


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"portcullis-signing-keys:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _to_jwk(row: SigningKey) -> jwk.JWK:
    return jwk.JWK.from_pem(_fernet().decrypt(row.encrypted_private_key.encode()))


def create_signing_key() -> SigningKey:
    key = jwk.JWK.generate(kty="RSA", size=RSA_KEY_BITS)
    kid = key.thumbprint()
    public = key.export_public(as_dict=True) | {"kid": kid, "use": "sig", "alg": "RS256"}
    pem = key.export_to_pem(private_key=True, password=None)
    return SigningKey.objects.create(kid=kid, encrypted_private_key=_fernet().encrypt(pem).decode(), public_jwk=public)


def clear_cache() -> None:
    with _cache_lock:
        _cache.update(key=None, loaded_at=0.0)


def active_signing_key() -> ActiveKey:
    """The key that signs new tokens (created on first use, so a fresh install just works)."""
    with _cache_lock:
        cached = _cache["key"]
        if cached is not None and time.monotonic() - _cache["loaded_at"] < CACHE_SECONDS:
            return cached
    row = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    if row is None:
        with transaction.atomic():
            # One creator at a time; the others then find its key.
            list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
            row = SigningKey.objects.filter(retired_at__isnull=True).first() or create_signing_key()
    try:
        key = ActiveKey(_to_jwk(row), row.kid)
    except InvalidToken:
        # SECRET_KEY changed since the key was stored: it can no longer sign. A new key takes
        # over; the old one stays published, so tokens it signed keep verifying until they expire.
        logger.error("Signing key %s cannot be decrypted (SECRET_KEY changed?): rotating.", row.kid)
        row = rotate_signing_key(actor=Actor.system("unreadable signing key"))
        key = ActiveKey(_to_jwk(row), row.kid)
    with _cache_lock:
        _cache.update(key=key, loaded_at=time.monotonic())
    return key


def published_keys() -> list[dict]:
    """The public JWKs of the active key and of every key retired too recently to be forgotten."""
    horizon = timezone.now() - timedelta(seconds=MAX_TOKEN_LIFETIME)
    rows = SigningKey.objects.filter(retired_at__isnull=True) | SigningKey.objects.filter(retired_at__gt=horizon)
    return [row.public_jwk for row in rows.order_by("-created_at")]


def rotate_signing_key(*, actor: Actor) -> SigningKey:
    """A new key signs from now on; the previous ones are retired but stay published."""
    with transaction.atomic():
        retired = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        SigningKey.objects.filter(pk__in=[row.pk for row in retired]).update(retired_at=timezone.now())
        row = create_signing_key()
        record_event(actor=actor, action="signing_key.rotate", target=row, data={"retired": [r.kid for r in retired]})
    transaction.on_commit(clear_cache)
    return row
