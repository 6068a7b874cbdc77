"""Self-service setup: a one-time link lets a customer's IT admin connect their own identity provider.

A tenant admin creates the link (``setup_link_create``: the token is returned once, its digest is
kept). Whoever holds it saves their provider's details (``setup_details_save``: the connection is
created disabled, its options checked by the strategy as anywhere else), tests a sign-in through it
(``setup_test_passed``, from the ``setup`` flow's result) and activates it (``setup_activate``: only
after a successful test of the details as they are now; domain level only if the tenant allowed it;
the domain aliases asked for apply then). Activation uses the link up. Every step is audited, and so
is every refusal of a link that exists (expired, used up); an unknown token finds nothing at all.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator
from django.db import transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.constants import ENTERPRISE_STRATEGIES
from oauthcore.credentials import link_token_digest
from oauthcore.federation.base import FederatedProfile
from oauthcore.models import Connection, ConnectionDomain, ConnectionSetupLink
from oauthcore.models.connections import CONNECTION_NAME_RE
from oauthcore.services.connections import connection_create, connection_set_domain_level, connection_update

NOT_FOUND = "This setup link is not valid. Ask your contact for a new one."
EXPIRED = "This setup link has expired. Ask your contact for a new one."
USED = "This setup link was already used: the connection is set up."
NOT_TESTED = "Test a sign-in through the connection first: it is activated only once a test succeeded."
MAX_DOMAINS = 50
_domain = DomainNameValidator(accept_idna=False)


class SetupLinkRefused(Exception):
    """A link that cannot be used: ``status`` 404 (no such link) or 410 (expired, used up)."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class IssuedSetupLink:
    link: ConnectionSetupLink
    token: str  # shown once, in the link; the database keeps its digest


def setup_actor(link: ConnectionSetupLink) -> Actor:
    """The customer's IT admin has no account here: they act as the holder of this link."""
    return Actor.system(f"setup link {link.pk} ({link.customer_label})"[:128])


def _audit(link: ConnectionSetupLink, action: str, *, actor: Actor | None = None, reason: str = "", **data):
    record_event(
        actor=actor or setup_actor(link), action=f"connection_setup.{action}", target=link, reason=reason, data=data
    )


def setup_link_create(
    *,
    actor: Actor,
    strategy: str,
    connection_name: str,
    customer_label: str,
    may_be_domain_level: bool = False,
    created_by=None,
) -> IssuedSetupLink:
    """A link for one customer to set up one connection named ``connection_name``."""
    errors = {}
    if strategy not in ENTERPRISE_STRATEGIES:
        errors["strategy"] = "Choose OpenID Connect or SAML."
    if not CONNECTION_NAME_RE.match(connection_name or ""):
        errors["connection_name"] = (
            "Use letters, digits and single hyphens, starting and ending with a letter or digit."
        )
    elif Connection.objects.filter(name=connection_name).exists():
        errors["connection_name"] = f"There is already a connection named {connection_name}."
    elif _open_links().filter(connection_name=connection_name).exists():
        errors["connection_name"] = f"An open setup link already suggests the name {connection_name}."
    if not (customer_label or "").strip():
        errors["customer_label"] = "Say who the link is for."
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(32)
    link = ConnectionSetupLink(
        strategy=strategy,
        connection_name=connection_name,
        customer_label=customer_label.strip(),
        may_be_domain_level=may_be_domain_level,
        created_by=created_by,
        token_digest=link_token_digest(token),
        expires_at=timezone.now() + timedelta(days=portcullis_settings.CONNECTION_SETUP_LINK_DAYS),
    )
    with transaction.atomic():
        link.full_clean(exclude=["token_digest"])
        link.save()
        _audit(
            link,
            "create",
            actor=actor,
            strategy=strategy,
            connection_name=connection_name,
            customer=link.customer_label,
            may_be_domain_level=may_be_domain_level,
            expires_at=link.expires_at.isoformat(),
        )
    return IssuedSetupLink(link, token)


def _open_links():
    return ConnectionSetupLink.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now())


def setup_link_find(token: str, *, lock: bool = False) -> ConnectionSetupLink:
    """The usable link behind ``token``, or ``SetupLinkRefused`` saying why not (audited when the
    link exists). ``lock`` holds its row until the caller's transaction ends."""
    links = ConnectionSetupLink.objects.select_related("connection")
    if lock:
        links = links.select_for_update(of=("self",))
    link = links.filter(token_digest=link_token_digest(token or "")).first() if token else None
    if link is None:
        raise SetupLinkRefused(NOT_FOUND, status=404)
    if link.used_at is not None:
        _audit(link, "refused", reason="used")
        raise SetupLinkRefused(USED, status=410)
    if link.is_expired:
        _audit(link, "refused", reason="expired")
        raise SetupLinkRefused(EXPIRED, status=410)
    return link


def setup_link_open(*, link: ConnectionSetupLink) -> None:
    """The first visit of the link's page."""
    with transaction.atomic():
        if ConnectionSetupLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=timezone.now()):
            _audit(link, "open")


def setup_link_expire(*, actor: Actor, link: ConnectionSetupLink) -> None:
    """The tenant withdraws a link before its time."""
    with transaction.atomic():
        link.expires_at = timezone.now()
        link.save(update_fields=["expires_at"])
        _audit(link, "expire", actor=actor)


def _checked_domains(domains: list[str], connection: Connection | None) -> list[str]:
    """The domains as home-realm discovery will index them; refused if another connection has one."""
    if len(domains) > MAX_DOMAINS:
        raise ValidationError({"options.domain_aliases": f"At most {MAX_DOMAINS} domains."})
    for domain in domains:
        try:
            _domain(domain)
        except ValidationError as exc:
            raise ValidationError({"options.domain_aliases": f"{domain[:100]} is not a domain name."}) from exc
    taken = ConnectionDomain.objects.filter(domain__in=domains)
    if connection is not None:
        taken = taken.exclude(connection=connection)
    if row := taken.select_related("connection").first():
        raise ValidationError({"options.domain_aliases": f"The domain {row.domain} is already another connection's."})
    return list(dict.fromkeys(domains))


def setup_details_save(*, token: str, display_name: str, options: dict) -> Connection:
    """The provider's details: the connection created (disabled) or changed. A change needs a new test."""
    options = dict(options)
    with transaction.atomic():
        link = setup_link_find(token, lock=True)
        domains = _checked_domains(list(options.pop("domain_aliases", None) or []), link.connection)
        actor = setup_actor(link)
        if link.connection is None:
            connection = connection_create(
                actor=actor,
                name=link.connection_name,
                strategy=link.strategy,
                display_name=display_name,
                is_enabled=False,
                options=options,
            )
            link.connection = connection
        else:
            connection = connection_update(
                actor=actor, connection=link.connection, options=options, display_name=display_name
            )
        link.domain_aliases = domains
        link.tested_at = None
        link.save(update_fields=["connection", "domain_aliases", "tested_at"])
        _audit(link, "details", connection=connection.name, options=sorted(connection.options), domains=domains)
    return connection


def setup_test_passed(*, token: str, connection: Connection, profile: FederatedProfile) -> ConnectionSetupLink:
    """A test sign-in through the link's connection succeeded: it may now be activated."""
    with transaction.atomic():
        link = setup_link_find(token, lock=True)
        if link.connection_id != connection.pk:
            raise SetupLinkRefused(NOT_FOUND, status=404)
        link.tested_at = timezone.now()
        link.save(update_fields=["tested_at"])
        _audit(link, "test", connection=connection.name, subject=profile.subject, fields=sorted(profile.attributes))
    return link


def setup_activate(*, token: str, domain_level: bool = False) -> Connection:
    """The connection, tested, opened to sign-ins; the link is used up."""
    with transaction.atomic():
        link = setup_link_find(token, lock=True)
        connection = link.connection
        if connection is None or link.tested_at is None:
            raise ValidationError(NOT_TESTED)
        if domain_level and not link.may_be_domain_level:
            raise ValidationError("This connection may not be made domain level: ask your contact.")
        actor = setup_actor(link)
        fields = {"is_enabled": True}
        if link.domain_aliases:
            fields["options"] = connection.options | {"domain_aliases": link.domain_aliases}
        connection_update(actor=actor, connection=connection, **fields)
        if domain_level:
            connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        _audit(link, "activate", connection=connection.name, domain_level=domain_level, domains=link.domain_aliases)
    return connection
