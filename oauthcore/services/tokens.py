"""Revoking issued tokens: refresh tokens are marked revoked, access tokens deleted, and
client-credentials tokens (never stored) withdrawn by a "not before" stamp.

Deleting an access token row, or stamping its client and API, is what makes introspection report
it inactive at once.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import clear_expired

from oauthcore.audit import Actor, record_event
from oauthcore.client_tokens import forget_withdrawals, withdraw_client_tokens
from oauthcore.constants import MAX_TOKEN_LIFETIME, SubjectType
from oauthcore.models import (
    AccessToken,
    Application,
    DeviceGrant,
    FederatedAssertion,
    FederationFlow,
    Grant,
    RefreshToken,
)
from oauthcore.reach import token_scope


@dataclass(frozen=True)
class RevokedCount:
    access_tokens: int
    refresh_tokens: int
    authorization_codes: int

    def __str__(self):
        return (
            f"{self.access_tokens} access tokens, {self.refresh_tokens} refresh tokens "
            f"and {self.authorization_codes} authorization codes"
        )


def tokens_revoke(
    *,
    actor: Actor,
    applications=None,
    user=None,
    audience: str | None = None,
    subject_type: str | None = None,
    organization=None,
    reason: str,
    target=None,
) -> RevokedCount:
    """Revoke every live token matching all the given filters (``applications`` is an iterable or
    queryset; ``organization``: only the user tokens issued for that organization)."""
    if applications is None and user is None and audience is None and organization is None:
        raise ValueError("tokens_revoke needs at least one filter")
    if organization is not None:
        subject_type = SubjectType.USER  # client-credentials tokens of an organization are not stored
    condition = token_scope(
        applications=applications, user=user, audience=audience, subject_type=subject_type, organization=organization
    )
    with transaction.atomic():
        if user is None and subject_type in (None, SubjectType.CLIENT):
            # Client-credentials tokens have no row to delete: a "not before" stamp withdraws them.
            client_ids = None
            if applications is not None:
                client_ids = list(Application.objects.filter(pk__in=applications).values_list("client_id", flat=True))
            withdraw_client_tokens(client_ids=client_ids, audience=audience)
        refresh = RefreshToken.objects.filter(condition, revoked__isnull=True).update(revoked=timezone.now())
        access = AccessToken.objects.filter(condition).delete()[1].get(AccessToken._meta.label, 0)
        codes = Grant.objects.filter(condition).delete()[1].get(Grant._meta.label, 0)
        counts = RevokedCount(access, refresh, codes)
        record_event(
            actor=actor,
            action="tokens.revoke",
            target=target,
            reason=reason,
            data={
                "access_tokens": access,
                "refresh_tokens": refresh,
                "authorization_codes": codes,
                "user": getattr(user, "pk", None),
                "audience": audience,
                **({"organization": getattr(organization, "pk", organization)} if organization is not None else {}),
            },
        )
    return counts


def application_tokens_revoke(*, actor: Actor, application: Application, reason: str) -> RevokedCount:
    return tokens_revoke(actor=actor, applications=[application.pk], reason=reason, target=application)


def token_family_revoke(*, actor: Actor, application: Application, family, action: str, reason: str) -> RevokedCount:
    """Revoke every token of one family: those issued from one authorization code and the
    refresh tokens it led to. Nothing is recorded when the family holds no live token."""
    with transaction.atomic():
        refresh = RefreshToken.objects.filter(
            token_family=family, application=application, revoked__isnull=True
        ).update(revoked=timezone.now())
        linked = RefreshToken.objects.filter(token_family=family, application=application).values("access_token_id")
        access = (
            AccessToken.objects.filter(Q(token_family=family) | Q(pk__in=linked), application=application)
            .delete()[1]
            .get(AccessToken._meta.label, 0)
        )
        counts = RevokedCount(access, refresh, 0)
        if access or refresh:
            record_event(
                actor=actor,
                action=action,
                target=application,
                reason=reason,
                data={"access_tokens": access, "refresh_tokens": refresh, "token_family": str(family)},
            )
    return counts


def expired_tokens_clear(*, now=None) -> None:
    """Delete expired and revoked tokens and authorization codes, expired device authorizations
    (which frees their user codes), the withdrawals of client-credentials tokens that have all
    expired since, sign-ins at identity providers never completed in time, and the identity
    providers' one-time assertion ids once those assertions have expired (past their expiry they
    are refused for that reason alone).

    Not one transaction: django-oauth-toolkit's ``clear_expired`` deletes in batches, each committed
    on its own, so a large cleanup never holds its locks for long. Not audited: every row it deletes
    had already stopped working (expired, or revoked with an audit entry of its own).
    """
    clear_expired()
    DeviceGrant.objects.filter(expires__lt=now or timezone.now()).delete()
    FederationFlow.objects.filter(expires_at__lt=now or timezone.now()).delete()
    FederatedAssertion.objects.filter(expires_at__lt=now or timezone.now()).delete()
    forget_withdrawals(now=(now or timezone.now()).timestamp(), longest_lifetime=MAX_TOKEN_LIFETIME)
