"""Connections: promoting to domain level, and which apps a connection serves."""

from django.core.exceptions import ValidationError
from django.db import transaction

from oauthcore.audit import Actor, record_event
from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.models import Connection
from oauthcore.services.base import save_audited


def connection_create(
    *, actor: Actor, name: str, strategy: str = "auth0", display_name: str = "", is_domain_connection: bool = False
) -> Connection:
    connection = Connection(
        name=name, strategy=strategy, display_name=display_name, is_domain_connection=is_domain_connection
    )
    with transaction.atomic():
        save_audited(connection, actor=actor, action="connection.create", data={"name": name})
    return connection


def connection_update(*, actor: Actor, connection: Connection, **fields) -> Connection:
    for name, value in fields.items():
        setattr(connection, name, value)
    with transaction.atomic():
        save_audited(connection, actor=actor, action="connection.update", data={"fields": sorted(fields)})
    return connection


def connection_set_domain_level(*, actor: Actor, connection: Connection, is_domain_connection: bool) -> Connection:
    """Promote (True) or demote (False): domain-level connections are open to every third-party app."""
    with transaction.atomic():
        connection.is_domain_connection = is_domain_connection
        connection.save(update_fields=["is_domain_connection", "updated_at"])
        record_event(
            actor=actor,
            action="connection.promote" if is_domain_connection else "connection.demote",
            target=connection,
        )
    return connection


def connection_set_enabled_clients(*, actor: Actor, connection: Connection, changes: dict[int, bool]) -> None:
    """``changes`` maps application primary keys to enabled (True) or disabled (False)."""
    with transaction.atomic():
        enable = [pk for pk, status in changes.items() if status]
        disable = [pk for pk, status in changes.items() if not status]
        connection.enabled_clients.add(*enable)
        connection.enabled_clients.remove(*disable)
        record_event(
            actor=actor, action="connection.clients", target=connection, data={"enabled": enable, "disabled": disable}
        )


def connection_delete(*, actor: Actor, connection: Connection) -> None:
    """Users belong to exactly one connection: one that still has users is kept."""
    if connection.name == DATABASE_CONNECTION_NAME:
        raise ValidationError("The database connection cannot be deleted.")
    if connection.users.exists():
        raise ValidationError("This connection still has users; it cannot be deleted.")
    with transaction.atomic():
        record_event(actor=actor, action="connection.delete", target=connection, data={"name": connection.name})
        connection.delete()
