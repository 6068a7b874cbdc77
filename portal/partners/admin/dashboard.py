"""The console's home: the admin index opens on a dashboard, with the app list beside it.

What waits for the tenant admin (pending access requests, partners awaiting approval), a
getting-started checklist, the latest denials with their reasons, and token activity over the
last fortnight by API and by app. The reads are ``portal.partners.dashboard``'s (a fixed number of
statements); this module puts them into words and links, shows each part only to staff who may
view what it is about, and hands them to ``templates/admin/index.html`` as the index's context.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince

from oauthcore.audit import DENIAL_ACTION, recorded_denial
from oauthcore.models import Application, AuditEvent, ClientGrant, Connection, ResourceServer, TenantSettings
from portal.partners import dashboard as reads
from portal.partners.admin.charts import BarChart, Series, daily_bar_chart, plural
from portal.partners.models import AccessRequest, Partner, PartnerStatus, RequestStatus

DAYS = 14  # the charts' fortnight
TOP = 5  # the busiest APIs and apps drawn apart; the rest as one "others"
PENDING_SHOWN = 5
DENIALS_SHOWN = 6
NO_API = "No API (sign-in only, or none found)"
NO_APP = "No known client"


def may_view(user, model) -> bool:
    """As the admin decides it (``ModelAdmin.has_view_permission``): the view or the change permission."""
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


def may_add(user, model) -> bool:
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.add_{opts.model_name}")


def ago(moment: datetime) -> str:
    """How long ago, in one unit ("just now", "5 minutes ago", "3 days ago"): enough on a dashboard."""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


def admin_url(model, view: str, *args, query: dict | None = None) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


# -- what the template shows -----------------------------------------------------------------


@dataclass(frozen=True)
class WaitingItem:
    text: str  # "2 access requests wait for your decision", or that none does
    count: int
    url: str  # the filtered change list
    link_text: str


@dataclass(frozen=True)
class PendingRequest:
    text: str
    url: str
    created_at: datetime

    @property
    def age(self) -> str:
        return ago(self.created_at)


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    state: str  # where the tenant stands, in a sentence
    link_text: str
    url: str | None  # None: this user may not open that page


@dataclass(frozen=True)
class Denial:
    created_at: datetime
    app: str
    app_url: str | None
    api: str
    api_url: str | None
    reason: str
    url: str  # the audit entry, with the rules the request went through

    @property
    def age(self) -> str:
        return ago(self.created_at)


@dataclass(frozen=True)
class Dashboard:
    waiting: list[WaitingItem]
    pending_requests: list[PendingRequest]
    steps: list[Step]
    denials: list[Denial] | None  # None: not shown to this user
    denials_url: str
    charts: list[BarChart]
    days: int = DAYS

    @property
    def steps_done(self) -> int:
        return sum(step.done for step in self.steps)


# -- building it -----------------------------------------------------------------------------


def _waiting_item(waiting: reads.Waiting, *, one: str, many: str, since: str, none: str, model, status) -> WaitingItem:
    """One line of what waits: how many, since when, and the change list filtered to them."""
    if waiting.count:
        first = "the first " if waiting.count > 1 else ""
        text = f"{plural(waiting.count, one, many)} ({first}{since} {ago(waiting.oldest)})"
    else:
        text = none
    name = model._meta.verbose_name_plural
    return WaitingItem(
        text=text,
        count=waiting.count,
        url=admin_url(model, "changelist", query={"status__exact": status}),
        link_text=f"Review the waiting {name}" if waiting.count else f"See all {name}",
    )


def _waiting(user) -> tuple[list[WaitingItem], list[PendingRequest]]:
    items, pending = [], []
    if may_view(user, AccessRequest):
        waiting, first = reads.pending_access_requests(limit=PENDING_SHOWN)
        items.append(
            _waiting_item(
                waiting,
                one="access request waits for your decision",
                many="access requests wait for your decision",
                since="sent",
                none="No access request waits for a decision",
                model=AccessRequest,
                status=RequestStatus.PENDING,
            )
        )
        pending = [
            PendingRequest(
                text=(
                    f"{request.client.name or request.client.client_id} ({request.partner.name}) "
                    f"asks for {', '.join(request.scope) or 'no scope'} "
                    f"on {request.resource_server.name}"
                ),
                url=admin_url(AccessRequest, "change", request.pk),
                created_at=request.created_at,
            )
            for request in first
        ]
    if may_view(user, Partner):
        items.append(
            _waiting_item(
                reads.partners_awaiting_approval(),
                one="partner waits for your approval",
                many="partners wait for your approval",
                since="signed up",
                none="No partner waits for approval",
                model=Partner,
                status=PartnerStatus.PENDING,
            )
        )
    return items, pending


def _link(user, model, *, done: bool, done_query: dict | None = None) -> str | None:
    """Where a step is taken: the model's add page until it is done (the list after), if allowed."""
    if not done and may_add(user, model):
        return admin_url(model, "add")
    if may_view(user, model):
        return admin_url(model, "changelist", query=done_query if done else None)
    return None


def _steps(user) -> list[Step]:
    if not any(may_view(user, model) for model in (ResourceServer, Connection, ClientGrant, TenantSettings, Partner)):
        return []
    facts = reads.getting_started()
    registration = "on" if facts.dynamic_registration else "off"
    connections_url = None  # connections are promoted, never added here: always their list
    if may_view(user, Connection):
        promoted = {"is_domain_connection__exact": 1} if facts.domain_connection else None
        connections_url = admin_url(Connection, "changelist", query=promoted)
    return [
        Step(
            title="Define an API with scopes",
            done=facts.api_with_scopes is not None,
            state=(
                f"{facts.api_with_scopes} has scopes that apps can ask for."
                if facts.api_with_scopes
                else "No API of yours has scopes yet: add one, with the scopes apps may ask for."
            ),
            link_text="See your APIs" if facts.api_with_scopes else "Add an API",
            url=_link(user, ResourceServer, done=facts.api_with_scopes is not None),
        ),
        Step(
            title="Make a connection domain-level",
            done=facts.domain_connection is not None,
            state=(
                f"{facts.domain_connection} is domain-level: users of third-party apps can sign in with it."
                if facts.domain_connection
                else "No connection is domain-level yet: users of third-party apps cannot sign in."
            ),
            link_text="See your connections" if facts.domain_connection else "Choose a connection",
            url=connections_url,
        ),
        Step(
            title="Set default permissions for third-party apps",
            done=facts.default_permissions_api is not None,
            state=(
                f"Every third-party app may ask for what you set on {facts.default_permissions_api}."
                if facts.default_permissions_api
                else "None yet: a third-party app gets nothing until it is granted access on its own."
            ),
            link_text="See the default permissions" if facts.default_permissions_api else "Add default permissions",
            url=_link(
                user,
                ClientGrant,
                done=facts.default_permissions_api is not None,
                done_query={"default_for__exact": "third_party_clients"},
            ),
        ),
        Step(
            title="Decide on dynamic registration",
            done=facts.dynamic_registration_decided,
            state=(
                f"Dynamic registration is {registration}: "
                + (
                    "any app can register itself at /oidc/register, as a strict third-party app."
                    if facts.dynamic_registration
                    else "apps are created only here and in the partner portal."
                )
                + ("" if facts.dynamic_registration_decided else " That is the default: nobody has chosen yet.")
            ),
            link_text="Open the tenant settings",
            url=admin_url(TenantSettings, "changelist") if may_view(user, TenantSettings) else None,
        ),
        Step(
            title="Welcome a first partner",
            done=facts.first_partner is not None,
            state=(
                f"{facts.first_partner} is your first partner."
                if facts.first_partner
                else "No partner yet: add one here, or let them sign up in the partner portal."
            ),
            link_text="See your partners" if facts.first_partner else "Add a partner",
            url=_link(user, Partner, done=facts.first_partner is not None),
        ),
    ]


def _reason_in_words(event: AuditEvent) -> str:
    """The decision's sentence for the rule that refused; the stored error text for older entries."""
    denial = recorded_denial(event)
    if denial is not None:
        return denial.sentence
    return event.reason or "No reason was recorded."


def _denial(event: AuditEvent, apis: dict[str, tuple[str, str | None]], apps_visible: bool) -> Denial:
    audience = (event.data or {}).get("audience") or ""
    if not audience:
        api, api_url = "no API", None
    elif audience in apis:
        api, api_url = apis[audience]
    else:
        api, api_url = f"{audience} (no such API)", None
    is_app = event.target_type == Application._meta.label_lower and event.target_id
    return Denial(
        created_at=event.created_at,
        app=event.actor_label or event.actor_id or "an unknown client",
        app_url=admin_url(Application, "change", event.target_id) if is_app and apps_visible else None,
        api=api,
        api_url=api_url,
        reason=_reason_in_words(event),
        url=admin_url(AuditEvent, "change", event.pk),
    )


def _series(keys, has_others: bool, labels: dict[str, tuple[str, str | None]], others: str) -> list[Series]:
    """The legend's order: the busiest first, each named (and linked) when it still exists."""
    series = [
        Series(key=key, label=labels.get(key, (key, None))[0], url=labels.get(key, (key, None))[1]) for key in keys
    ]
    if has_others:
        series.append(Series(key=None, label=others))
    return series


def _activity(user, events: list[AuditEvent]) -> tuple[list[Denial], list[BarChart]]:
    activity = reads.token_activity(days=DAYS, top=TOP)
    audiences = {(event.data or {}).get("audience") for event in events} | set(activity.by_api.keys)
    # Names and links, for the denials and both charts at once: one statement for APIs, one for apps.
    apis_visible, apps_visible = may_view(user, ResourceServer), may_view(user, Application)
    apis = {
        identifier: (name, admin_url(ResourceServer, "change", pk) if apis_visible else None)
        for identifier, (pk, name) in reads.apis_by_identifier(audiences).items()
    }
    apis[""] = (NO_API, None)
    apps = {
        client_id: (name, admin_url(Application, "change", pk) if apps_visible else None)
        for client_id, (pk, name) in reads.applications_by_client_id(activity.by_app.keys).items()
    }
    apps[""] = (NO_APP, None)
    charts = [
        daily_bar_chart(
            chart_id="by-api",
            title="By API",
            days=activity.days,
            series=_series(activity.by_api.keys, activity.by_api.has_others, apis, "Other APIs"),
            values=activity.by_api.by_day,
        ),
        daily_bar_chart(
            chart_id="by-app",
            title="By app",
            days=activity.days,
            series=_series(activity.by_app.keys, activity.by_app.has_others, apps, "Other apps"),
            values=activity.by_app.by_day,
        ),
    ]
    return [_denial(event, apis, apps_visible) for event in events], charts


def dashboard_context(request) -> dict:
    user = request.user
    waiting, pending = _waiting(user)
    denials, charts = None, []
    if may_view(user, AuditEvent):  # denials and activity: what the audit log tells, in short
        denials, charts = _activity(user, reads.recent_denials(limit=DENIALS_SHOWN))
    return {
        "dashboard": Dashboard(
            waiting=waiting,
            pending_requests=pending,
            steps=_steps(user),
            denials=denials,
            denials_url=admin_url(AuditEvent, "changelist", query={"action__exact": DENIAL_ACTION}),
            charts=charts,
        )
    }


def install(site: admin.AdminSite) -> None:
    """The site's index gets the dashboard in its context (once, however often this is called)."""
    if getattr(site.index, "with_dashboard", False):
        return
    index = site.index

    def index_with_dashboard(request, extra_context=None):
        return index(request, extra_context={**dashboard_context(request), **(extra_context or {})})

    index_with_dashboard.with_dashboard = True
    site.index = index_with_dashboard


install(admin.site)
