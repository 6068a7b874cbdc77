"""Creating, changing, rotating and deleting applications."""

import copy
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.client_tokens import withdraw_client_tokens
from oauthcore.constants import CreatedVia, GrantType
from oauthcore.credentials import new_client_secret
from oauthcore.models import Application, PreviousClientSecret
from oauthcore.policy_cache import bump
from oauthcore.services.base import save_audited
from oauthcore.services.tokens import application_tokens_revoke, tokens_revoke

# What may be changed after creation; everything else is fixed or derived.
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "logo_uri",
        "app_type",
        "callbacks",
        "allowed_origins",
        "web_origins",
        "grant_types",
        "token_endpoint_auth_method",
        "redirection_policy",
        "client_metadata",
        "organization_usage",
        "organization_require_behavior",
        # Sent again with the same value is fine; a change is refused by the model.
        "is_first_party",
        "third_party_security_mode",
    }
)


@dataclass(frozen=True)
class IssuedCredentials:
    """An application and its plain client secret: the only time the secret is ever visible."""

    application: Application
    client_secret: str


def _assign(application: Application, fields: dict) -> None:
    for name, value in fields.items():
        if name == "callbacks":
            application.callbacks = list(value)
        elif name == "allowed_origins":
            application.allowed_origins = " ".join(value) if isinstance(value, list | tuple) else value
        else:
            setattr(application, name, value)


def application_create(
    *,
    actor: Actor,
    name: str,
    app_type: str,
    created_via: str = CreatedVia.ADMIN,
    is_first_party: bool = True,
    third_party_security_mode: str = "",
    external_client_id: str | None = None,
    **fields,
) -> IssuedCredentials:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"application_create got unexpected fields: {', '.join(sorted(unknown))}")
    application = Application(
        name=name,
        app_type=app_type,
        created_via=created_via,
        is_first_party=is_first_party,
        third_party_security_mode=third_party_security_mode,
        external_client_id=external_client_id,
    )
    _assign(application, fields)
    secret = new_client_secret()
    application.client_secret = secret
    with transaction.atomic():
        save_audited(
            application,
            actor=actor,
            action="client.create",
            # The client_id is final only once validated: a strict third-party app's gets its tpc_ prefix.
            data=lambda app: {"client_id": app.client_id, "created_via": created_via, "is_first_party": is_first_party},
        )
    return IssuedCredentials(application, secret)


def application_errors(*, application: Application, **fields) -> dict[str, list[str]]:
    """What saving ``fields`` on ``application`` would be refused for, by field: nothing is saved.

    ``application`` is a stored app (``application_update``'s check) or an unsaved one holding what
    ``application_create`` is given besides ``fields``. Forms ask this with their own checks, so a
    person sees every error of a submission at once instead of the model's only after fixing the
    form's."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"application_errors got unexpected fields: {', '.join(sorted(unknown))}")
    candidate = copy.copy(application)
    _assign(candidate, fields)
    if candidate._state.adding:
        candidate.apply_creation_defaults()
    candidate.sync_dot_fields()
    return candidate.invariant_errors()


def application_update(*, actor: Actor, application: Application, **fields) -> Application:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"application_update got unexpected fields: {', '.join(sorted(unknown))}")
    could_issue = _issues_client_tokens(application)
    _assign(application, fields)
    with transaction.atomic():
        save_audited(application, actor=actor, action="client.update", data={"fields": sorted(fields)})
        if could_issue != _issues_client_tokens(application) and could_issue[0]:
            # The client credentials grant taken away, or the way the app authenticates changed:
            # the tokens it got before stop at once (they are not stored: a "not before" stamp).
            withdraw_client_tokens(client_ids=[application.client_id], audience=None)
    return application


def _issues_client_tokens(application: Application) -> tuple[bool, str]:
    """Whether the app may get client-credentials tokens, and how it authenticates for them."""
    return GrantType.CLIENT_CREDENTIALS in (application.grant_types or []), application.token_endpoint_auth_method


# Rotation with a grace period: how long a replaced secret may keep working, and how many may.
MAX_SECRET_GRACE = timedelta(days=7)
MAX_PREVIOUS_SECRETS = 2


def application_rotate_secret(*, actor: Actor, application: Application, grace: timedelta = timedelta(0)) -> str:
    """Replace the secret. Returns the new secret, shown once.

    Without ``grace`` (the admin's and the management API's rotation) the old secret, and any
    earlier one still in a grace period, stop working at once. With ``grace`` the old secret keeps
    authenticating until then, stored as a ``PreviousClientSecret`` (its digest, never the secret);
    at most ``MAX_PREVIOUS_SECRETS`` stay valid, so a further rotation retires the oldest at once.
    """
    if grace < timedelta(0) or grace > MAX_SECRET_GRACE:
        raise ValidationError({"grace": f"The grace period is between none and {MAX_SECRET_GRACE.days} days."})
    secret = new_client_secret()
    now = timezone.now()
    with transaction.atomic():
        # The row lock orders concurrent rotations: each one keeps the secret the previous one set.
        current, hint = (
            Application.objects.select_for_update()
            .values_list("client_secret", "client_secret_hint")
            .get(pk=application.pk)
        )
        live = PreviousClientSecret.objects.filter(application=application, expires_at__gt=now)
        if grace and current:
            PreviousClientSecret.objects.create(
                application=application, secret=current, hint=hint, expires_at=now + grace
            )
            keep = list(live.order_by("-pk").values_list("pk", flat=True)[:MAX_PREVIOUS_SECRETS])
            retired = PreviousClientSecret.objects.filter(application=application).exclude(pk__in=keep)
        else:
            retired = PreviousClientSecret.objects.filter(application=application)
        retired_hints = list(retired.values_list("hint", flat=True))
        retired.delete()
        application.client_secret = secret
        application.save(update_fields=["client_secret", "client_secret_hint", "updated"])
        record_event(
            actor=actor,
            action="client.rotate_secret",
            target=application,
            data={
                "grace_seconds": int(grace.total_seconds()),
                "previous_valid_until": (now + grace).isoformat() if grace else None,
                "retired_previous": retired_hints,
            },
        )
    return secret


def previous_secret_revoke(*, actor: Actor, previous: PreviousClientSecret) -> None:
    """End a replaced secret's grace period now (its app has moved to the new secret)."""
    with transaction.atomic():
        record_event(
            actor=actor,
            action="client.previous_secret_revoke",
            target=previous.application,
            data={"hint": previous.hint, "expires_at": previous.expires_at.isoformat()},
        )
        previous.delete()


def previous_secrets_retire(*, now=None, batch_size: int = 500) -> int:
    """Delete replaced secrets whose grace period is over (they stopped working then). Returns how many."""
    now = now or timezone.now()
    retired = 0
    while True:
        with transaction.atomic():
            batch = list(
                PreviousClientSecret.objects.select_related("application")
                .filter(expires_at__lte=now)
                .order_by("expires_at", "pk")[:batch_size]
            )
            if not batch:
                return retired
            for previous in batch:
                record_event(
                    actor=Actor.system("retire previous client secrets"),
                    action="client.previous_secret_retire",
                    target=previous.application,
                    data={"hint": previous.hint, "expired_at": previous.expires_at.isoformat()},
                )
            PreviousClientSecret.objects.filter(pk__in=[p.pk for p in batch]).delete()
        retired += len(batch)


def applications_set_suspended(*, actor: Actor, applications, suspended: bool, reason: str) -> int:
    """Suspend ``applications`` (a queryset), or lift their suspension; returns how many changed.

    Their owner (a partner, in the partner app) was suspended or reactivated: the core knows no
    owner, only this flag, which the access decision refuses for every grant type. Suspending
    revokes every token they hold in the same transaction, so refresh tokens fail at the next
    request and access tokens introspect inactive; lifting it revokes nothing and restores nothing.
    The policy stamp changes too, so no cached fact outlives the change.
    """
    with transaction.atomic():
        changed = list(applications.exclude(suspended=suspended).select_for_update())
        if not changed:
            return 0
        pks = [application.pk for application in changed]
        Application.objects.filter(pk__in=pks).update(suspended=suspended, updated=timezone.now())
        if suspended:
            tokens_revoke(actor=actor, applications=pks, reason=reason)
        bump()
        for application in changed:
            record_event(
                actor=actor,
                action="client.suspend" if suspended else "client.unsuspend",
                target=application,
                reason=reason,
                data={"client_id": application.client_id},
            )
    return len(changed)


def application_delete(*, actor: Actor, application: Application) -> None:
    with transaction.atomic():
        application_tokens_revoke(actor=actor, application=application, reason="application deleted")
        record_event(
            actor=actor,
            action="client.delete",
            target=application,
            data={"client_id": application.client_id, "name": application.name},
        )
        application.delete()
