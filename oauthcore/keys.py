"""The token signing keys: create, rotate, publish, and the one that signs now.

Private keys are encrypted at rest with a key derived from SECRET_KEY (so a database dump alone
does not give them away). The active key is cached in each process under the shared policy
stamp, which a rotation replaces (see ``active_signing_key``); after a rotation, old tokens keep
verifying because retired keys stay in the JWKS until ``MAX_TOKEN_LIFETIME`` after their
retirement, and a kid a process has not seen yet makes it read the published keys again.

A key that SECRET_KEY cannot decrypt is an error, never a reason to make a new one: a node with
another SECRET_KEY that rotated on its own would take over signing from the nodes configured
right, and they from it, over and over. Changing SECRET_KEY works as Django's own signing does:
the old value goes into ``SECRET_KEY_FALLBACKS``, keys encrypted under it still decrypt, and
``reencrypt_signing_keys`` (``manage.py rotate_signing_key --reencrypt``, and every rotation)
encrypts them under the new one, after which the fallback can go.
"""

import base64
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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
_cache: dict = {"key": None, "loaded_at": 0.0, "stamp": None}


@dataclass(frozen=True)
class ActiveKey:
    jwk: jwk.JWK
    kid: str

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The key as ``cryptography`` signs with it (access tokens skip jwcrypto's layers)."""
        return self.jwk.get_op_key("sign")


class UnreadableSigningKey(ImproperlyConfigured):
    """A stored signing key that neither SECRET_KEY nor any of SECRET_KEY_FALLBACKS decrypts."""

    def __init__(self, kid: str):
        self.kid = kid
        super().__init__(
            f"Signing key {kid} cannot be decrypted with SECRET_KEY or any of SECRET_KEY_FALLBACKS: it was "
            "encrypted under another SECRET_KEY. Give every node the same SECRET_KEY; when changing it, put "
            "the previous value in SECRET_KEY_FALLBACKS and run `manage.py rotate_signing_key --reencrypt`. "
            "Only if the previous SECRET_KEY is lost for good, `manage.py rotate_signing_key` replaces the key."
        )


def _fernet_for(secret: str) -> Fernet:
    digest = hashlib.sha256(b"portcullis-signing-keys:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    """Encrypts under SECRET_KEY; decrypts under it or any of SECRET_KEY_FALLBACKS."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([_fernet_for(secret) for secret in secrets])


def _decrypt(row: SigningKey) -> bytes:
    try:
        return _fernet().decrypt(row.encrypted_private_key.encode())
    except InvalidToken:
        raise UnreadableSigningKey(row.kid) from None


def _to_jwk(row: SigningKey) -> jwk.JWK:
    return jwk.JWK.from_pem(_decrypt(row))


def needs_reencryption(row: SigningKey) -> bool:
    """Whether the key decrypts only under one of SECRET_KEY_FALLBACKS (``UnreadableSigningKey``
    when under none)."""
    try:
        _fernet_for(settings.SECRET_KEY).decrypt(row.encrypted_private_key.encode())
    except InvalidToken:
        _decrypt(row)
        return True
    return False


def create_signing_key() -> SigningKey:
    key = jwk.JWK.generate(kty="RSA", size=RSA_KEY_BITS)
    kid = key.thumbprint()
    public = key.export_public(as_dict=True) | {"kid": kid, "use": "sig", "alg": "RS256"}
    pem = key.export_to_pem(private_key=True, password=None)
    return SigningKey.objects.create(kid=kid, encrypted_private_key=_fernet().encrypt(pem).decode(), public_jwk=public)


def clear_cache() -> None:
    with _cache_lock:
        _cache.update(key=None, loaded_at=0.0, stamp=None)
    with _public_keys_lock:
        _public_keys.clear()
        _public_keys_read.update(at=float("-inf"), stamp=None)


def active_signing_key(stamp: str | None = None) -> ActiveKey:
    """The key that signs new tokens (created on first use, so a fresh install just works).

    Kept per process while the shared policy stamp (``oauthcore.policy_cache``; pass it when it
    was read already) is the one it was read under, which a rotation replaces: every node signs
    with the new key from its next request on. Without a shared stamp, for ``CACHE_SECONDS``."""
    from oauthcore.policy_cache import shared_stamp

    stamp = stamp or shared_stamp()
    with _cache_lock:
        cached = _cache["key"]
        fresh = time.monotonic() - _cache["loaded_at"] < CACHE_SECONDS
        if cached is not None and (stamp == _cache["stamp"] if stamp is not None else fresh):
            return cached
    row = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    if row is None:
        with transaction.atomic():
            # One creator at a time; the others then find its key.
            list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
            row = SigningKey.objects.filter(retired_at__isnull=True).first() or create_signing_key()
    try:
        key = ActiveKey(_to_jwk(row), row.kid)
    except UnreadableSigningKey as error:
        logger.critical("%s", error)
        raise
    with _cache_lock:
        _cache.update(key=key, loaded_at=time.monotonic(), stamp=stamp)
    return key


def published_keys() -> list[dict]:
    """The public JWKs of the active key and of every key retired too recently to be forgotten."""
    horizon = timezone.now() - timedelta(seconds=MAX_TOKEN_LIFETIME)
    rows = SigningKey.objects.filter(retired_at__isnull=True) | SigningKey.objects.filter(retired_at__gt=horizon)
    return [row.public_jwk for row in rows.order_by("-created_at")]


# Public keys by kid, for checking tokens this server signed. A key is kept once read: a token it
# signed stays checkable until it expires, and expiry is checked apart. An unknown kid (a key
# rotated in on another node) reloads the published keys when the shared policy stamp changed since
# the last reload (a rotation changes it), else at most once per second, so a flood of made-up kids
# cannot turn into a flood of queries.
_public_keys: dict[str, object] = {}
_public_keys_read: dict = {"at": float("-inf"), "stamp": None}
_public_keys_lock = threading.Lock()
UNKNOWN_KID_RELOAD_SECONDS = 1.0


def verification_key(kid: str):
    """The public key ``kid`` names (a ``cryptography`` RSA key), or None if this server never published it.

    The reload holds a lock, so that a thread arriving meanwhile (a threaded worker's first
    requests) waits for its result instead of finding nothing and calling a good token unknown."""
    from oauthcore.policy_cache import shared_stamp

    key = _public_keys.get(kid)
    if key is not None:
        return key
    with _public_keys_lock:
        key = _public_keys.get(kid)
        if key is not None:
            return key
        stamp = shared_stamp()
        stale = stamp is not None and stamp != _public_keys_read["stamp"]
        if stale or time.monotonic() - _public_keys_read["at"] >= UNKNOWN_KID_RELOAD_SECONDS:
            for public in published_keys():
                _public_keys.setdefault(public["kid"], jwk.JWK(**public).get_op_key("verify"))
            _public_keys_read.update(at=time.monotonic(), stamp=stamp)
            key = _public_keys.get(kid)
    return key


def reencrypt_signing_keys(*, actor: Actor) -> tuple[list[str], list[str]]:
    """Encrypt under SECRET_KEY every stored key that decrypts only under a fallback, so that the
    fallback can be dropped: (the kids re-encrypted, the kids no configured key decrypts)."""
    reencrypted, unreadable = [], []
    with transaction.atomic():
        fernet = _fernet()
        for row in SigningKey.objects.select_for_update().order_by("created_at"):
            try:
                if not needs_reencryption(row):
                    continue
            except UnreadableSigningKey:
                unreadable.append(row.kid)
                continue
            row.encrypted_private_key = fernet.rotate(row.encrypted_private_key.encode()).decode()
            row.save(update_fields=["encrypted_private_key"])
            reencrypted.append(row.kid)
        if reencrypted:
            record_event(actor=actor, action="signing_key.reencrypt", data={"kids": reencrypted})
    return reencrypted, unreadable


def rotate_signing_key(*, actor: Actor) -> SigningKey:
    """A new key signs from now on; the previous ones are retired but stay published, and are
    re-encrypted under SECRET_KEY when they decrypt only under a fallback."""
    from oauthcore.policy_cache import bump

    with transaction.atomic():
        retired = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        SigningKey.objects.filter(pk__in=[row.pk for row in retired]).update(retired_at=timezone.now())
        row = create_signing_key()
        record_event(actor=actor, action="signing_key.rotate", target=row, data={"retired": [r.kid for r in retired]})
        reencrypt_signing_keys(actor=actor)
        bump()  # every node's next token request reads the new key
    transaction.on_commit(clear_cache)
    return row
