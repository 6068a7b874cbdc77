"""Creating, widening and removing client grants."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.client_tokens import withdraw_client_tokens
from oauthcore.constants import SubjectType
from oauthcore.exceptions import ConflictError
from oauthcore.models import Application, ClientGrant
from oauthcore.services.base import save_audited
from oauthcore.services.tokens import tokens_revoke

UPDATABLE_FIELDS = frozenset({"scope", "allow_all_scopes", "organization_usage", "allow_any_organization"})


def _duplicate_error(grant: ClientGrant) -> ConflictError:
    if grant.client_id:
        return ConflictError("A client grant for this application, API and subject type already exists.")
    return ConflictError("A default grant for this API and subject type already exists.")


def _exists_like(grant: ClientGrant) -> bool:
    return ClientGrant.objects.filter(
        client_id=grant.client_id,
        default_for=grant.default_for,
        resource_server_id=grant.resource_server_id,
        subject_type=grant.subject_type,
    ).exists()


def client_grant_create(
    *,
    actor: Actor,
    audience: str,
    client: Application | None = None,
    default_for: str | None = None,
    subject_type: str = SubjectType.CLIENT,
    **fields,
) -> ClientGrant:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"client_grant_create got unexpected fields: {', '.join(sorted(unknown))}")
    grant = ClientGrant(
        client=client, default_for=default_for, resource_server_id=audience, subject_type=subject_type, **fields
    )
    try:
        with transaction.atomic():
            grant.full_clean(validate_constraints=False)
            if _exists_like(grant):
                raise _duplicate_error(grant)
            grant.save()
            record_event(
                actor=actor,
                action="client_grant.create",
                target=grant,
                data={
                    "client_id": client and client.client_id,
                    "default_for": default_for,
                    "audience": audience,
                    "subject_type": subject_type,
                    "scope": grant.scope,
                    "allow_all_scopes": grant.allow_all_scopes,
                },
            )
    except IntegrityError as exc:  # a concurrent request created the same grant first
        raise _duplicate_error(grant) from exc
    return grant


def client_grant_update(*, actor: Actor, grant: ClientGrant, **fields) -> ClientGrant:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"client_grant_update got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        before = ClientGrant.objects.filter(pk=grant.pk).values("scope", "allow_all_scopes").first()
        for name, value in fields.items():
            setattr(grant, name, value)
        save_audited(
            grant,
            actor=actor,
            action="client_grant.update",
            data={"fields": sorted(fields), "scope": grant.scope, "allow_all_scopes": grant.allow_all_scopes},
            validate_constraints=False,
        )
        if before is not None and grant.subject_type == SubjectType.CLIENT and _narrowed(before, grant):
            # Client-credentials tokens are not stored: those issued under the wider grant are
            # withdrawn by a "not before" stamp (user-delegated ones are re-decided at refresh).
            withdraw_client_tokens(
                client_ids=list(
                    Application.objects.filter(pk__in=_applications_relying_on(grant)).values_list(
                        "client_id", flat=True
                    )
                ),
                audience=grant.audience,
            )
    return grant


def _narrowed(before: dict, grant: ClientGrant) -> bool:
    """Whether ``grant`` now allows less than it did: a scope taken out, or "all scopes" turned off."""
    if grant.allow_all_scopes:
        return False
    return before["allow_all_scopes"] or bool(set(before["scope"] or []) - set(grant.scope or []))


def client_grant_widen(
    *, actor: Actor, client: Application, audience: str, subject_type: str, scope: list[str]
) -> ClientGrant:
    """Give ``client`` at least ``scope`` on ``audience``: create its grant, or add to the one it has."""
    with transaction.atomic():
        grant = (
            ClientGrant.objects.select_for_update()
            .filter(client=client, resource_server_id=audience, subject_type=subject_type)
            .first()
        )
        if grant is None:
            return client_grant_create(
                actor=actor, audience=audience, client=client, subject_type=subject_type, scope=list(scope)
            )
        if grant.allow_all_scopes:
            return grant
        widened = grant.scope + [value for value in scope if value not in grant.scope]
        return client_grant_update(actor=actor, grant=grant, scope=widened)


def client_grant_delete(*, actor: Actor, grant: ClientGrant) -> None:
    """Remove a grant and revoke the tokens it allowed, at once: they stop working on the next request."""
    with transaction.atomic():
        if grant.is_system:
            raise ValidationError("System client grants cannot be deleted.")
        applications = _applications_relying_on(grant)
        tokens_revoke(
            actor=actor,
            applications=applications,
            audience=grant.audience,
            subject_type=grant.subject_type,
            reason="client grant deleted",
            target=grant,
        )
        record_event(
            actor=actor,
            action="client_grant.delete",
            target=grant,
            data={
                "client_id": grant.client and grant.client.client_id,
                "default_for": grant.default_for,
                "audience": grant.audience,
                "subject_type": grant.subject_type,
            },
        )
        grant.delete()


def _applications_relying_on(grant: ClientGrant):
    """The apps whose access came through ``grant``: its client, or every third-party app without its own."""
    if grant.client_id:
        return [grant.client_id]
    own = ClientGrant.objects.filter(
        resource_server_id=grant.resource_server_id, subject_type=grant.subject_type, client__isnull=False
    ).values("client_id")
    return Application.objects.filter(is_first_party=False).exclude(pk__in=own).values("pk")
