"""What the access decision reads about APIs, client grants and the tenant, cached in each process.

Without it every token request reads an API, its scopes and the client's grants: three statements
out of five. Here they are kept per process, keyed by the policy stamp (``PolicyVersion``), which

- every write to an API, its scopes, a client grant or the tenant settings replaces in the same
  transaction: ``bump`` runs on each such row saved or deleted (signals, so cascades and admin
  inlines are covered too), and services that write in bulk call it themselves, as does the one
  that suspends applications (``applications_set_suspended``): a suspended app is refused from
  the next request on, whatever any process kept;
- the validator reads in the very statement that loads the client (``with_policy_stamp``), so
  checking it costs no round trip.

A change therefore takes effect on the first request that starts after it commits: that request
reads the new stamp and misses. A request that read the old stamp before the commit may still be
answered from entries kept under it: it ran alongside the write, as it could have without a cache.
An entry is always filled after its stamp was read, so it can hold newer data than its stamp, never
older. Without a stamp (a client loaded some other way, no stamp row yet) nothing is cached.

Per process (an LRU of ``MAX_ENTRIES``) rather than in the shared cache: a hit costs no round trip,
and memory stays bounded whatever the size of the tenant. The client itself (its secret, grant
types, party) is cached only by the client-credentials path, under the shared stamp below, which
every application write changes too; everywhere else its row is read fresh on every request, and
so are the user's consent and connection.

A new input to the decision that lives in another table is cached here only once that model is in
``WATCHED_MODELS`` (and its bulk writes call ``bump``); otherwise read it fresh, like the client.
"""

import logging
from functools import lru_cache

from django.core.cache import cache
from django.db import DataError, transaction
from django.db.models import QuerySet, Subquery

from oauthcore.decision_inputs import Target, default_audience, read_target
from oauthcore.models import (
    Application,
    ClientGrant,
    PolicyVersion,
    ResourceServer,
    ResourceServerScope,
    TenantSettings,
)
from oauthcore.models.policy_version import SINGLETON_ID, new_stamp
from oauthcore.prepared import PreparedLookup
from oauthcore.shared_cache import redis_backend, redis_client

logger = logging.getLogger(__name__)

MAX_ENTRIES = 4096
STAMP_ATTRIBUTE = "policy_stamp"
WATCHED_MODELS = (Application, ResourceServer, ResourceServerScope, ClientGrant, TenantSettings)


def with_policy_stamp(queryset: QuerySet) -> QuerySet:
    """``queryset`` with the current stamp on each row (as ``policy_stamp``), in the same statement."""
    stamp = PolicyVersion.objects.filter(pk=SINGLETON_ID).values("stamp")[:1]
    return queryset.annotate(**{STAMP_ATTRIBUTE: Subquery(stamp)})


_client_with_stamp = PreparedLookup(
    lambda client_id: with_policy_stamp(Application.objects.filter(client_id=client_id)), "\x1fclient_id"
)


def client_with_stamp(client_id: str) -> Application | None:
    """The application ``client_id`` with the current stamp, in one statement (prepared: it runs on
    every token request), or None."""
    try:
        return _client_with_stamp.first(client_id)
    except (ValueError, DataError):  # a NUL byte in client_id: no application has it
        return None


def bump(**_signal_kwargs) -> None:
    """A new stamp: call inside the transaction of any write the cached facts depend on."""
    if not PolicyVersion.objects.filter(pk=SINGLETON_ID).update(stamp=new_stamp()):
        _, created = PolicyVersion.objects.get_or_create(pk=SINGLETON_ID)  # a new row has a new stamp
        if not created:  # another transaction made it meanwhile: ours must still change it
            PolicyVersion.objects.filter(pk=SINGLETON_ID).update(stamp=new_stamp())
    # The shared stamp changes now, so no process answers from what it kept while the write is in
    # flight (it reads the database, and keeps what it read under a stamp nobody will see again),
    # and once more when the write commits, so what was read before the commit is never used after.
    publish_shared_stamp()
    transaction.on_commit(publish_shared_stamp)


# -- the shared stamp: what lets a warm client-credentials request read no database at all ------------
#
# The database stamp is read in the statement that loads the client. To skip that statement too,
# every write that bumps the database stamp also replaces a stamp in the shared cache (Redis in
# production); ``cached_client`` keeps clients per process under it. A process that finds no shared
# stamp (an emptied cache, or none reachable) reads the client and the database stamp as before, and
# seeds a new shared stamp that lives only ``SEEDED_STAMP_SECONDS``: seeding can race with a write
# only when the cache lost the writer's stamp in between, and that window then closes by itself.

SHARED_STAMP_KEY = "policy:stamp"
SEEDED_STAMP_SECONDS = 10


def publish_shared_stamp() -> None:
    try:
        _write_stamp(new_stamp(), seeded=False)
    except Exception:  # the cache is down: processes read the database stamp meanwhile
        logger.warning("Could not publish the policy stamp to the shared cache.", exc_info=True)


def shared_stamp() -> str | None:
    """The shared stamp, or None when the cache has none or cannot be reached."""
    try:
        backend = redis_backend()
        if backend is None:
            return cache.get(SHARED_STAMP_KEY)
        value = redis_client(backend).get(backend.make_and_validate_key(SHARED_STAMP_KEY))
        return value.decode() if value is not None else None
    except Exception:
        logger.warning("Shared cache unavailable: reading the client from the database.", exc_info=True)
        return None


def _write_stamp(stamp: str, *, seeded: bool) -> None:
    """Publish ``stamp``; a seeded one only if there is none, and for ``SEEDED_STAMP_SECONDS``."""
    timeout = SEEDED_STAMP_SECONDS if seeded else None
    backend = redis_backend()
    if backend is None:
        (cache.add if seeded else cache.set)(SHARED_STAMP_KEY, stamp, timeout=timeout)
    else:
        redis_client(backend).set(backend.make_and_validate_key(SHARED_STAMP_KEY), stamp, ex=timeout, nx=seeded)


def cached_client(client_id: str, stamp: str | None) -> Application | None:
    """The application ``client_id`` with the policy stamp, from this process's cache while the
    shared ``stamp`` (``shared_stamp()``) stands, else from the database (``client_with_stamp``).
    The instance is shared by every request in this process under that stamp: read it, never
    change it."""
    if stamp is not None:
        return _client(stamp, client_id)
    application = client_with_stamp(client_id)
    try:
        _write_stamp(new_stamp(), seeded=True)
    except Exception:
        logger.warning("Could not seed the policy stamp in the shared cache.", exc_info=True)
    return application


@lru_cache(maxsize=MAX_ENTRIES)
def _client(stamp: str, client_id: str) -> Application | None:
    return client_with_stamp(client_id)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    for model in WATCHED_MODELS:
        for signal in (post_save, post_delete):
            signal.connect(bump, sender=model, dispatch_uid=f"policy_cache.bump.{model.__name__}.{id(signal)}")


def cached_target(*, application, audience: str | None, subject_type: str) -> Target:
    """The API ``audience`` with the grants that could let ``application`` in (``read_target``'s answer)."""
    stamp = getattr(application, STAMP_ATTRIBUTE, None)
    if stamp is None or not audience:
        return read_target(application_pk=application.pk, audience=audience, subject_type=subject_type)
    return _target(stamp, application.pk, audience, subject_type)


def cached_default_audience(application) -> str:
    """The tenant's default audience ("" for none)."""
    stamp = getattr(application, STAMP_ATTRIBUTE, None)
    return default_audience() if stamp is None else _default_audience(stamp)


def cached_organization_name_in_tokens(application) -> bool:
    """The tenant's ``allow_organization_name_in_authentication_api`` (``org_name`` in tokens)."""
    stamp = getattr(application, STAMP_ATTRIBUTE, None)
    if stamp is None:
        return TenantSettings.load().allow_organization_name_in_authentication_api
    return _organization_name_in_tokens(stamp)


def cached_mfa_policy(application) -> str:
    """The tenant's ``mfa_policy`` (``never``, ``optional`` or ``always``)."""
    stamp = getattr(application, STAMP_ATTRIBUTE, None)
    if stamp is None:
        return TenantSettings.load().mfa_policy
    return _mfa_policy(stamp)


@lru_cache(maxsize=MAX_ENTRIES)
def _target(stamp: str, application_pk: int, audience: str, subject_type: str) -> Target:
    return read_target(application_pk=application_pk, audience=audience, subject_type=subject_type)


@lru_cache(maxsize=8)
def _default_audience(stamp: str) -> str:
    return default_audience()


@lru_cache(maxsize=8)
def _organization_name_in_tokens(stamp: str) -> bool:
    return TenantSettings.load().allow_organization_name_in_authentication_api


@lru_cache(maxsize=8)
def _mfa_policy(stamp: str) -> str:
    return TenantSettings.load().mfa_policy


def clear() -> None:
    """Forget every entry (tests start each from their own database)."""
    _client.cache_clear()
    _target.cache_clear()
    _default_audience.cache_clear()
    _organization_name_in_tokens.cache_clear()
    _mfa_policy.cache_clear()
