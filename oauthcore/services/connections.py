"""Connections: creating them with their strategy's options, promoting to domain level, and which
apps a connection serves.

An enterprise connection's options are checked by its strategy (``oauthcore.federation``), which
may fetch the provider's discovery document or metadata; secret options are sealed apart and never
shown again. ``options.domain_aliases`` is mirrored in ``ConnectionDomain``, the index home-realm
discovery reads, where a domain belongs to one connection at most.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.constants import DATABASE_CONNECTION_NAME, ENTERPRISE_STRATEGIES
from oauthcore.database_connection import checked_database_options
from oauthcore.federation import strategy_for
from oauthcore.models import Connection, ConnectionDomain
from oauthcore.services.base import save_audited

DOMAIN_TAKEN = "The domain {domain} is already an alias of the connection {name}."


def checked_options(strategy: str, options: dict, *, current: Connection | None) -> tuple[dict, dict]:
    """``options`` as ``strategy`` stores them, and the secrets among them; errors per option
    (``options.client_id``...). A database connection's are its sign-up switch and password policy
    (``oauthcore.database_connection``); it has no secrets."""
    if strategy not in ENTERPRISE_STRATEGIES:
        return checked_database_options(options or {}), {}
    check = strategy_for(strategy).check_options(options, current=current)
    if check.errors:
        raise ValidationError({f"options.{name}": message for name, message in check.errors.items()})
    return check.options, check.secrets


def _sync_domains(connection: Connection) -> None:
    wanted = {domain.lower() for domain in connection.domain_aliases}
    taken = (
        ConnectionDomain.objects.filter(domain__in=wanted).exclude(connection=connection).select_related("connection")
    )
    if row := taken.first():
        raise ValidationError({"options.domain_aliases": DOMAIN_TAKEN.format(domain=row.domain, name=row.connection)})
    ConnectionDomain.objects.filter(connection=connection).exclude(domain__in=wanted).delete()
    have = set(ConnectionDomain.objects.filter(connection=connection).values_list("domain", flat=True))
    try:
        with transaction.atomic():
            ConnectionDomain.objects.bulk_create(
                [ConnectionDomain(domain=domain, connection=connection) for domain in sorted(wanted - have)]
            )
    except IntegrityError as exc:  # another connection took it meanwhile
        raise ValidationError({"options.domain_aliases": "One of these domains was just taken."}) from exc


def connection_create(
    *,
    actor: Actor,
    name: str,
    strategy: str = "auth0",
    display_name: str = "",
    is_domain_connection: bool = False,
    show_as_button: bool = True,
    is_enabled: bool = True,
    options: dict | None = None,
    enabled_clients: list[int] | None = None,
) -> Connection:
    """A connection; an enterprise one with its options checked (and its provider asked) first.
    A setup link's starts disabled (``is_enabled``): nobody signs in through it until it is activated."""
    stored, secrets = checked_options(strategy, options or {}, current=None)
    connection = Connection(
        name=name,
        strategy=strategy,
        display_name=display_name,
        is_domain_connection=is_domain_connection,
        show_as_button=show_as_button,
        is_enabled=is_enabled,
        options=stored,
    )
    connection.set_secrets(secrets)
    with transaction.atomic():
        save_audited(
            connection,
            actor=actor,
            action="connection.create",
            data={"name": name, "strategy": strategy, "options": sorted(stored), "secrets": sorted(secrets)},
        )
        _sync_domains(connection)
        if enabled_clients:
            connection.enabled_clients.add(*enabled_clients)
    return connection


def connection_update(*, actor: Actor, connection: Connection, options: dict | None = None, **fields) -> Connection:
    """Change a connection. ``options`` replaces the stored ones, except that a secret option left
    out keeps its sealed value (it is never shown, so a client cannot send it back)."""
    secrets_changed = []
    if options is not None:
        merged_secrets = connection.secrets
        stored, secrets = checked_options(connection.strategy, options, current=connection)
        secrets_changed = sorted(secrets)
        connection.options = stored
        connection.set_secrets(merged_secrets | secrets)
        fields["options"] = stored
    for name, value in fields.items():
        setattr(connection, name, value)
    with transaction.atomic():
        save_audited(
            connection,
            actor=actor,
            action="connection.update",
            data={"fields": sorted(fields), "secrets": secrets_changed},
        )
        if options is not None:
            _sync_domains(connection)
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
