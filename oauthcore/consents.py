"""What oauthcore needs from the store of users' consents, and where it finds that store.

``/authorize`` and the device flow ask what a user has already approved for an app and an API, and
record what they approve now (``/authorize`` records the whole answer: what the user unticked is
taken back); the My Account API lists and revokes a user's own; deactivating or deleting a user
takes back everything they approved. The store
that answers (the ``consent`` app's, by default) builds on oauthcore's models, so oauthcore names it
by dotted path (``PORTCULLIS["CONSENT_STORE"]``) rather than importing it: the apps stay layered,
and a deployment may keep consents elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from django.utils.module_loading import import_string

from oauthcore.conf import portcullis_settings

# What a consent about the user's own account (signing in, their profile: no API) is called, on the
# consent screen and on the user's authorized apps alike.
ACCOUNT_TITLE = "Your account"

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from oauthcore.audit import Actor
    from oauthcore.models import Application, Organization


@runtime_checkable
class ConsentStore(Protocol):
    def consented_scopes(
        self, *, user: AbstractBaseUser, client: Application, audience: str, organization: Organization | None = None
    ) -> frozenset[str] | None:
        """The scopes the user has approved for this app and API, or None if they were never asked.
        Consent is kept per organization: given in one, it covers that one only."""

    def record(
        self,
        *,
        user: AbstractBaseUser,
        client: Application,
        audience: str,
        scopes: Iterable[str],
        organization: Organization | None = None,
    ) -> None:
        """Remember that the user approved these scopes, on top of what they approved before."""

    def answer(
        self,
        *,
        user: AbstractBaseUser,
        client: Application,
        audience: str,
        shown: Iterable[str],
        approved: Iterable[str],
        organization: Organization | None = None,
    ) -> None:
        """Remember the user's answer on the consent screen: of the scopes it showed, the approved ones
        are kept and the others taken out of what they approved before (the scopes not shown stay)."""

    def consents_of(self, *, user: AbstractBaseUser) -> list:
        """The user's consents, the latest first: each has ``id``, ``client`` (the Application),
        ``audience``, ``scope`` (a list), ``organization_id``, ``created_at`` and ``updated_at``."""

    def revoke(self, *, actor: Actor, user: AbstractBaseUser, consent_id: str) -> bool:
        """Take back one of the user's own consents and the tokens issued under it, audited; False
        when the user has no consent with this id (anyone else's is not theirs to revoke)."""

    def revoke_all(self, *, actor: Actor, user: AbstractBaseUser) -> None:
        """Take back every consent the user gave (their account is being deactivated), audited,
        inside the caller's transaction."""

    def count_for_apis(self, *, audiences: Iterable[str]) -> int:
        """How many consents name these APIs (what deleting them takes back)."""

    def forget_api(self, *, actor: Actor, audience: str) -> int:
        """Take back every consent given for this API (it is being deleted, and an API made again with
        its identifier must ask again), audited, inside the caller's transaction; how many there were."""


@cache
def _load(path: str) -> ConsentStore:
    return import_string(path)()


def consent_store() -> ConsentStore:
    """The configured store, imported on first use (and again only if the setting changes)."""
    return _load(portcullis_settings.CONSENT_STORE)
