"""Creating and changing APIs and their scopes."""

from django.core.exceptions import ValidationError
from django.db import transaction

from oauthcore import policy_cache
from oauthcore.audit import Actor, record_event
from oauthcore.consents import consent_store
from oauthcore.constants import ClientPolicy, UserPolicy
from oauthcore.models import ClientGrant, ResourceServer, ResourceServerScope
from oauthcore.services.tokens import tokens_revoke

UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "token_lifetime",
        "allow_offline_access",
        "skip_consent_for_verifiable_first_party_clients",
        "user_policy",
        "client_policy",
        "client",
        "identifier",
        "signing_alg",
    }
)
# From the most to the least open; a system API may only move right.
POLICY_OPENNESS = {
    UserPolicy.ALLOW_ALL: 2,
    UserPolicy.REQUIRE_CLIENT_GRANT: 1,
    ClientPolicy.REQUIRE_CLIENT_GRANT: 1,
    UserPolicy.DENY_ALL: 0,
}


def _scope_rows(resource_server: ResourceServer, scopes) -> list[ResourceServerScope]:
    rows = [
        ResourceServerScope(resource_server=resource_server, value=value, description=description or "")
        for value, description in scopes
    ]
    seen: set[str] = set()
    for row in rows:
        row.full_clean(exclude=["resource_server"], validate_unique=False)
        if row.value in seen:
            raise ValidationError({"scopes": f"The scope {row.value!r} is listed twice."})
        seen.add(row.value)
    return rows


def resource_server_create(*, actor: Actor, identifier: str, name: str, scopes=(), **fields) -> ResourceServer:
    """``scopes`` is an iterable of ``(value, description)``."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"resource_server_create got unexpected fields: {', '.join(sorted(unknown))}")
    resource_server = ResourceServer(identifier=identifier, name=name, **fields)
    with transaction.atomic():
        resource_server.full_clean()
        rows = _scope_rows(resource_server, scopes)
        resource_server.save()
        ResourceServerScope.objects.bulk_create(rows)
        policy_cache.bump()  # bulk writes send no signals
        record_event(
            actor=actor,
            action="resource_server.create",
            target=resource_server,
            data={"identifier": identifier, "scopes": [row.value for row in rows]},
        )
    return resource_server


def resource_server_update(*, actor: Actor, resource_server: ResourceServer, scopes=None, **fields) -> ResourceServer:
    """Change fields and, when ``scopes`` is given, replace the API's scopes with it."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"resource_server_update got unexpected fields: {', '.join(sorted(unknown))}")
    if resource_server.is_system:
        _refuse_loosening_system_policy(resource_server, fields)
        if scopes is not None:
            raise ValidationError({"scopes": "The scopes of a system API cannot be changed."})
    for name, value in fields.items():
        setattr(resource_server, name, value)
    with transaction.atomic():
        resource_server.full_clean()
        resource_server.save()
        removed: list[str] = []
        if scopes is not None:
            rows = _scope_rows(resource_server, scopes)
            removed = resource_server_replace_scopes(resource_server=resource_server, rows=rows)
        record_event(
            actor=actor,
            action="resource_server.update",
            target=resource_server,
            data={"fields": sorted(fields), "removed_scopes": removed},
        )
    return resource_server


def resource_server_replace_scopes(*, resource_server: ResourceServer, rows: list[ResourceServerScope]) -> list[str]:
    """Make the API's scopes exactly ``rows``; returns the values that were removed."""
    wanted = {row.value: row.description for row in rows}
    current = {s.value: s for s in resource_server.scopes.all()}
    removed = sorted(set(current) - set(wanted))
    resource_server.scopes.filter(value__in=removed).delete()
    ResourceServerScope.objects.bulk_create([row for row in rows if row.value not in current])
    changed = [s for value, s in current.items() if value in wanted and s.description != wanted[value]]
    for scope in changed:
        scope.description = wanted[scope.value]
    ResourceServerScope.objects.bulk_update(changed, ["description"])
    resource_server_prune_grant_scopes(resource_server=resource_server, removed=removed)
    policy_cache.bump()  # bulk writes send no signals
    return removed


def resource_server_prune_grant_scopes(*, resource_server: ResourceServer, removed) -> None:
    """A scope that no longer exists on the API is taken out of every client grant holding it."""
    removed = set(removed)
    if not removed:
        return
    grants = list(ClientGrant.objects.filter(resource_server=resource_server).select_for_update())
    touched = []
    for grant in grants:
        kept = [value for value in grant.scope if value not in removed]
        if kept != grant.scope:
            grant.scope = kept
            touched.append(grant)
    ClientGrant.objects.bulk_update(touched, ["scope"])
    policy_cache.bump()  # bulk writes send no signals


def _refuse_loosening_system_policy(resource_server: ResourceServer, fields: dict) -> None:
    for name in ("user_policy", "client_policy"):
        if name in fields and POLICY_OPENNESS[fields[name]] > POLICY_OPENNESS[getattr(resource_server, name)]:
            raise ValidationError({name: "The access policy of a system API cannot be loosened."})


def resource_server_delete(*, actor: Actor, resource_server: ResourceServer) -> None:
    if resource_server.is_system:
        raise ValidationError("System APIs cannot be deleted.")
    with transaction.atomic():
        tokens_revoke(actor=actor, audience=resource_server.identifier, reason="API deleted", target=resource_server)
        # Consents name the API by its identifier: an API made again with it must ask its users again.
        consent_store().forget_api(actor=actor, audience=resource_server.identifier)
        record_event(
            actor=actor,
            action="resource_server.delete",
            target=resource_server,
            data={"identifier": resource_server.identifier},
        )
        resource_server.delete()
