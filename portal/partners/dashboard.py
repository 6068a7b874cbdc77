"""Reads for the console's home (the admin index): what waits for the tenant admin, how far a new
tenant has come, the latest denials, and token activity by day.

Each function costs a fixed number of statements, whatever the size of the tenant: counts and
short, indexed, limited lists only. The admin (``portal.partners.admin.dashboard``) turns them
into words and links.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from oauthcore.activity import DailyActivity, daily_activity, flush_token_activity
from oauthcore.audit import DENIAL_ACTION
from oauthcore.models import Application, AuditEvent, ClientGrant, Connection, ResourceServer, TenantSettings
from oauthcore.models.tenant import SINGLETON_ID
from portal.partners.models import AccessRequest, Partner, PartnerStatus, RequestStatus

# -- what waits for the admin -----------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest: datetime | None


def _waiting(queryset) -> Waiting:
    found = queryset.aggregate(count=Count("pk"), oldest=Min("created_at"))
    return Waiting(count=found["count"], oldest=found["oldest"])


def pending_access_requests(*, limit: int) -> tuple[Waiting, list[AccessRequest]]:
    """How many requests wait for a decision, and the ``limit`` that waited longest (two statements)."""
    pending = AccessRequest.objects.filter(status=RequestStatus.PENDING)
    first = pending.select_related("partner", "client", "resource_server").order_by("created_at", "pk")[:limit]
    return _waiting(pending), list(first)


def partners_awaiting_approval() -> Waiting:
    return _waiting(Partner.objects.filter(status=PartnerStatus.PENDING))


# -- getting started --------------------------------------------------------------------------


@dataclass(frozen=True)
class GettingStarted:
    """What a new tenant sets up first; each ``None`` is a step not taken yet."""

    api_with_scopes: str | None  # the name of one of the tenant's APIs that has scopes
    domain_connection: str | None  # the name of a domain-level connection
    default_permissions_api: str | None  # the name of an API with default permissions for third-party apps
    dynamic_registration: bool  # on or off
    dynamic_registration_decided: bool  # the tenant settings were saved at least once
    first_partner: str | None

    @property
    def done(self) -> int:
        return sum(
            (
                self.api_with_scopes is not None,
                self.domain_connection is not None,
                self.default_permissions_api is not None,
                self.dynamic_registration_decided,
                self.first_partner is not None,
            )
        )


def getting_started() -> GettingStarted:
    """Six small statements, each stopping at its first row."""
    api = (
        ResourceServer.objects.filter(is_system=False, scopes__isnull=False)
        .order_by("created_at", "pk")
        .values_list("name", flat=True)
        .first()
    )
    connection = (
        Connection.objects.filter(is_domain_connection=True).order_by("name").values_list("name", flat=True).first()
    )
    default_grant = (
        ClientGrant.objects.filter(default_for__isnull=False)
        .order_by("created_at")
        .values_list("resource_server__name", flat=True)
        .first()
    )
    # The row is made on first use (TenantSettings.load): a page that only reads does not make it.
    registration = (
        TenantSettings.objects.filter(pk=SINGLETON_ID)
        .values_list("enable_dynamic_client_registration", flat=True)
        .first()
    )
    # Every save of the tenant settings is audited (oauthcore.services.tenant), on the audit log's
    # index of targets: an admin who saved them has seen the option and chosen.
    decided = AuditEvent.objects.filter(
        target_type=TenantSettings._meta.label_lower, target_id=str(SINGLETON_ID), action="tenant_settings.update"
    ).exists()
    partner = Partner.objects.order_by("created_at", "pk").values_list("name", flat=True).first()
    return GettingStarted(
        api_with_scopes=api,
        domain_connection=connection,
        default_permissions_api=default_grant,
        dynamic_registration=bool(registration),
        dynamic_registration_decided=decided,
        first_partner=partner,
    )


# -- recent denials ---------------------------------------------------------------------------


def recent_denials(*, limit: int) -> list[AuditEvent]:
    """The latest denials, newest first: one statement on the audit log's (action, created_at) index."""
    return list(
        AuditEvent.objects.filter(action=DENIAL_ACTION)
        .order_by("-created_at", "-id")
        .only("id", "created_at", "actor_id", "actor_label", "target_type", "target_id", "reason", "data")[:limit]
    )


# -- token activity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    days: list[date]  # oldest first, today last
    by_api: DailyActivity
    by_app: DailyActivity


def token_activity(*, days: int, top: int) -> Activity:
    """Issued and denied per day over the last ``days`` days (today included), by API and by app:
    the ``top`` busiest of each apart, the rest as others. Four statements on the counter table,
    after the counts still in Redis are added to it (up to the current minute)."""
    flush_token_activity(include_current_minute=True)
    today = timezone.localdate()  # the day as the database truncates it (the current time zone)
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()), timezone.get_current_timezone())
    return Activity(
        days=[first + timedelta(days=n) for n in range(days)],
        by_api=daily_activity(since=since, by="audience", top=top),
        by_app=daily_activity(since=since, by="client_id", top=top),
    )


# -- names ------------------------------------------------------------------------------------


def apis_by_identifier(identifiers) -> dict[str, tuple[str, str]]:
    """API identifier → (primary key, name), for the APIs that still exist (one statement)."""
    wanted = {identifier for identifier in identifiers if identifier}
    if not wanted:
        return {}
    rows = ResourceServer.objects.filter(identifier__in=wanted).values_list("identifier", "pk", "name")
    return {identifier: (pk, name) for identifier, pk, name in rows}


def applications_by_client_id(client_ids) -> dict[str, tuple[int, str]]:
    """client_id → (primary key, name), for the apps that still exist (one statement)."""
    wanted = {client_id for client_id in client_ids if client_id}
    if not wanted:
        return {}
    rows = Application.objects.filter(client_id__in=wanted).values_list("client_id", "pk", "name")
    return {client_id: (pk, name) for client_id, pk, name in rows}
