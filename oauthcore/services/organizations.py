"""Every write about organizations: the organization, its members, its connections, its grants.

The management API, the admin, the My Organization API and ``/authorize`` (a member joining on
login) all write through here. Each function is one transaction with its audit entry. What takes
access away (a member removed, a connection disabled, third-party access blocked, a grant's
association removed, the organization deleted) revokes the tokens it covered in the same
transaction, so refresh tokens fail and access tokens introspect inactive as soon as it commits.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.client_tokens import withdraw_client_tokens
from oauthcore.constants import SubjectType, ThirdPartyClientAccess
from oauthcore.exceptions import ConflictError
from oauthcore.models import (
    Application,
    ClientGrant,
    Connection,
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    OrganizationMember,
)
from oauthcore.services.base import save_audited
from oauthcore.services.tokens import tokens_revoke

UPDATABLE_FIELDS = frozenset({"name", "display_name", "branding", "metadata", "third_party_client_access"})
CONNECTION_FIELDS = frozenset({"assign_membership_on_login", "show_as_button", "is_signup_enabled"})
NAME_TAKEN = "An organization with this name already exists."


def _fields_data(organization: Organization) -> dict:
    return {
        "name": organization.name,
        "display_name": organization.display_name,
        "third_party_client_access": organization.third_party_client_access,
    }


def _checked_fields(fields: dict, allowed: frozenset[str], function: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"{function} got unexpected fields: {', '.join(sorted(unknown))}")


def _save_unique_name(organization: Organization, **kwargs) -> Organization:
    """``save_audited``, with a name taken (now, or by a concurrent request) as a conflict."""
    if Organization.objects.filter(name=organization.name).exclude(pk=organization.pk).exists():
        raise ConflictError(NAME_TAKEN)
    try:
        with transaction.atomic():
            return save_audited(organization, validate_unique=False, **kwargs)
    except IntegrityError as exc:
        raise ConflictError(NAME_TAKEN) from exc


def organization_create(*, actor: Actor, name: str, **fields) -> Organization:
    _checked_fields(fields, UPDATABLE_FIELDS - {"name"}, "organization_create")
    organization = Organization(name=name, **fields)
    with transaction.atomic():
        return _save_unique_name(organization, actor=actor, action="organization.create", data=_fields_data)


def organization_update(*, actor: Actor, organization: Organization, **fields) -> Organization:
    """Change the given fields. Blocking third-party access revokes the tokens third-party apps hold
    for the organization's users there."""
    _checked_fields(fields, UPDATABLE_FIELDS, "organization_update")
    with transaction.atomic():
        before = Organization.objects.select_for_update().get(pk=organization.pk)
        for name, value in fields.items():
            setattr(organization, name, value)
        _save_unique_name(organization, actor=actor, action="organization.update", data=_fields_data)
        blocked = (
            before.third_party_client_access == ThirdPartyClientAccess.ALLOW
            and organization.third_party_client_access == ThirdPartyClientAccess.BLOCK
        )
        if blocked:
            tokens_revoke(
                actor=actor,
                applications=Application.objects.filter(is_first_party=False),
                organization=organization,
                reason="The organization blocked third-party applications.",
                target=organization,
            )
    return organization


def organization_delete(*, actor: Actor, organization: Organization) -> None:
    """Delete it, with its memberships, consents and every token issued for it (its machine-to-machine
    tokens too: those of the grants it authorized are withdrawn)."""
    with transaction.atomic():
        tokens_revoke(
            actor=actor, organization=organization, reason="The organization was deleted.", target=organization
        )
        _withdraw_grant_tokens(organization.grant_links.select_related("client_grant__client"))
        record_event(actor=actor, action="organization.delete", target=organization, data=_fields_data(organization))
        organization.delete()


# -- members --------------------------------------------------------------------------------------


def organization_members_add(*, actor: Actor, organization: Organization, users: Iterable) -> int:
    """Make ``users`` members (those already members stay as they are); returns how many joined."""
    users = list(users)
    with transaction.atomic():
        existing = set(
            OrganizationMember.objects.filter(organization=organization, user__in=users).values_list(
                "user_id", flat=True
            )
        )
        new = [user for user in users if user.pk not in existing]
        OrganizationMember.objects.bulk_create(
            [OrganizationMember(organization=organization, user=user) for user in new], ignore_conflicts=True
        )
        if new:
            record_event(
                actor=actor,
                action="organization.members_add",
                target=organization,
                data={"users": [user.user_id for user in new]},
            )
    return len(new)


def organization_member_join(*, organization: Organization, user, connection: Connection) -> None:
    """``user`` becomes a member on logging in through ``connection``, which assigns membership."""
    with transaction.atomic():
        _, created = OrganizationMember.objects.get_or_create(organization=organization, user=user)
        if created:
            record_event(
                actor=Actor.user(user),
                action="organization.member_join",
                target=organization,
                data={"user": user.user_id, "connection": connection.name},
            )


def organization_members_remove(*, actor: Actor, organization: Organization, users: Iterable) -> int:
    """Remove ``users`` (those not members are ignored), revoking what they hold for the organization."""
    users = list(users)
    with transaction.atomic():
        removed = [
            membership.user
            for membership in OrganizationMember.objects.select_related("user__connection").filter(
                organization=organization, user__in=users
            )
        ]
        OrganizationMember.objects.filter(organization=organization, user__in=removed).delete()
        for user in removed:
            tokens_revoke(
                actor=actor,
                user=user,
                organization=organization,
                reason="The user was removed from the organization.",
                target=organization,
            )
        if removed:
            record_event(
                actor=actor,
                action="organization.members_remove",
                target=organization,
                data={"users": [user.user_id for user in removed]},
            )
    return len(removed)


def organization_member_set_role(*, actor: Actor, membership: OrganizationMember, role: str) -> OrganizationMember:
    """Make a member an administrator of the organization, or a plain member again."""
    with transaction.atomic():
        membership.role = role
        return save_audited(
            membership,
            actor=actor,
            action="organization.member_role",
            target=membership.organization,
            data={"user": membership.user.user_id, "role": role},
            validate_unique=False,
            validate_constraints=False,
        )


# -- enabled connections --------------------------------------------------------------------------


def _connection_data(link: OrganizationConnection) -> dict:
    return {
        "connection": link.connection.name,
        "assign_membership_on_login": link.assign_membership_on_login,
        "show_as_button": link.show_as_button,
        "is_signup_enabled": link.is_signup_enabled,
    }


def organization_connection_add(
    *, actor: Actor, organization: Organization, connection: Connection, **fields
) -> OrganizationConnection:
    _checked_fields(fields, CONNECTION_FIELDS, "organization_connection_add")
    link = OrganizationConnection(organization=organization, connection=connection, **fields)
    duplicate = ConflictError("This connection is already enabled for the organization.")
    if OrganizationConnection.objects.filter(organization=organization, connection=connection).exists():
        raise duplicate
    try:
        with transaction.atomic():
            return save_audited(
                link,
                actor=actor,
                action="organization.connection_add",
                target=organization,
                data=_connection_data,
                validate_unique=False,
                validate_constraints=False,
            )
    except IntegrityError as exc:
        raise duplicate from exc


def organization_connection_update(*, actor: Actor, link: OrganizationConnection, **fields) -> OrganizationConnection:
    _checked_fields(fields, CONNECTION_FIELDS, "organization_connection_update")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(link, name, value)
        return save_audited(
            link,
            actor=actor,
            action="organization.connection_update",
            target=link.organization,
            data=_connection_data,
            validate_unique=False,
            validate_constraints=False,
        )


def organization_connection_remove(*, actor: Actor, link: OrganizationConnection) -> None:
    """Disable the connection for the organization: its users' tokens there are revoked (they could
    no longer log in to it through that connection)."""
    organization = link.organization
    with transaction.atomic():
        for user in organization.members.filter(connection=link.connection_id).select_related("connection"):
            tokens_revoke(
                actor=actor,
                user=user,
                organization=organization,
                reason="The user's connection was disabled for the organization.",
                target=organization,
            )
        record_event(
            actor=actor, action="organization.connection_remove", target=organization, data=_connection_data(link)
        )
        link.delete()


# -- client grants (machine to machine) ----------------------------------------------------------


def _withdraw_grant_tokens(links) -> None:
    for link in links:
        grant = link.client_grant
        if grant.client_id:
            withdraw_client_tokens(client_ids=[grant.client.client_id], audience=grant.resource_server_id)


def organization_client_grant_add(
    *, actor: Actor, organization: Organization, grant: ClientGrant
) -> OrganizationClientGrant:
    """The organization authorizes ``grant``: its client may get client-credentials tokens for it."""
    if grant.client_id is None or grant.subject_type != SubjectType.CLIENT:
        raise ValidationError(
            {"grant_id": "Only an application's own client grant for client access can be associated."}
        )
    duplicate = ConflictError("The client grant is already associated with the organization.")
    if OrganizationClientGrant.objects.filter(organization=organization, client_grant=grant).exists():
        raise duplicate
    try:
        with transaction.atomic():
            link = OrganizationClientGrant.objects.create(organization=organization, client_grant=grant)
            record_event(
                actor=actor,
                action="organization.client_grant_add",
                target=organization,
                data={"grant_id": grant.pk, "client_id": grant.client.client_id, "audience": grant.resource_server_id},
            )
    except IntegrityError as exc:
        raise duplicate from exc
    return link


def organization_client_grant_remove(*, actor: Actor, link: OrganizationClientGrant) -> None:
    """Take the authorization back: the client's tokens for the grant's API are withdrawn at once."""
    grant = link.client_grant
    with transaction.atomic():
        _withdraw_grant_tokens([link])
        record_event(
            actor=actor,
            action="organization.client_grant_remove",
            target=link.organization,
            data={"grant_id": grant.pk, "audience": grant.resource_server_id},
        )
        link.delete()
