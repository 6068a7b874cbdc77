"""Reads for the partner portal: who gets which email, and what a member sees."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from oauthcore.constants import DefaultFor, SubjectType, ThirdPartyClientAccess
from oauthcore.decision_inputs import DecisionInputs, apis_with_scopes, client_facts, target, well_formed_inputs
from oauthcore.models import (
    Application,
    ClientGrant,
    Organization,
    OrganizationConnection,
    PreviousClientSecret,
    TenantSettings,
)
from oauthcore.policy import Decision, Flow, Rule
from oauthcore.validation import shown_logo_uri
from portal.partners.models import AccessRequest, Invitation, PartnerMembership, RequestStatus, Role


def tenant_admin_addresses(permission: str = "portal.change_accessrequest") -> list[str]:
    """Who hears about partners' requests: the tenant's support address, and every active staff
    user with an email address who may act on it (superusers, or staff holding ``permission``
    directly or through a group). Staff who could not decide are not bothered."""
    app_label, codename = permission.split(".")
    perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    may_act = Q(is_superuser=True)
    if perm is not None:
        may_act |= Q(user_permissions=perm) | Q(groups__permissions=perm)
    staff = (
        get_user_model()
        .objects.filter(may_act, is_active=True, is_staff=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    addresses = {email.lower(): email for email in staff}
    support = TenantSettings.load().support_email
    if support:
        addresses.setdefault(support.lower(), support)
    return sorted(addresses.values())


def partner_manager_addresses(partner, *, also=None) -> list[str]:
    """The partner's owners and admins (and ``also``, a user who is still a member), with an email."""
    wanted = Q(role__in=[Role.OWNER, Role.ADMIN])
    if also is not None:
        wanted |= Q(user=also)
    emails = (
        PartnerMembership.objects.filter(wanted, partner=partner, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(emails))


def memberships_of(user):
    return PartnerMembership.objects.filter(user=user).select_related("partner").order_by("partner__name")


def partner_apps(partner):
    """The partner's apps for lists, with the count of their pending requests."""
    pending = Count("access_requests", filter=Q(access_requests__status=RequestStatus.PENDING))
    return Application.objects.filter(partner=partner).annotate(pending_requests=pending).order_by("name", "pk")


def partner_requests(partner, *, application=None):
    requests = AccessRequest.objects.filter(partner=partner).select_related(
        "client", "resource_server", "requested_by", "decided_by"
    )
    if application is not None:
        requests = requests.filter(client=application)
    return requests.order_by("-created_at", "-pk")


def team(partner):
    """Members (with their users) and the invitations still open."""
    members = PartnerMembership.objects.filter(partner=partner).select_related("user").order_by("user__username")
    invitations = (
        Invitation.objects.filter(partner=partner, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("email")
    )
    return list(members), list(invitations)


def app_with_secrets(partner, client_id: str, *, now) -> Application | None:
    """One of the partner's apps, with the replaced secrets that still authenticate."""
    live = Prefetch(
        "previous_secrets",
        queryset=PreviousClientSecret.objects.filter(expires_at__gt=now).order_by("expires_at"),
        to_attr="live_previous_secrets",
    )
    return Application.objects.filter(partner=partner, client_id=client_id).prefetch_related(live).first()


@dataclass(frozen=True)
class ScopeChip:
    value: str
    description: str
    held: bool  # the app's client grant for this API and access type already gives it


@dataclass(frozen=True)
class RequestScopes:
    """An access request's scopes beside what its app already holds for that API and access type."""

    held: list[ScopeChip]
    asked: list[ScopeChip]
    granted: list[ScopeChip]
    holds_every_scope: bool  # the app's grant allows all the API's scopes


def access_request_scopes(access_request: AccessRequest) -> RequestScopes:
    """Two queries: the API's scopes (for their descriptions) and the app's client grant."""
    descriptions = dict(access_request.resource_server.scopes.values_list("value", "description"))
    grant = (
        ClientGrant.objects.filter(
            client=access_request.client_id,
            resource_server=access_request.resource_server,
            subject_type=access_request.subject_type,
        )
        .only("scope", "allow_all_scopes")
        .first()
    )
    every = bool(grant and grant.allow_all_scopes)
    held_values = list(descriptions) if every else list(grant.scope if grant else ())
    held = set(held_values)

    def chips(values) -> list[ScopeChip]:
        return [ScopeChip(value, descriptions.get(value, ""), value in held) for value in values]

    return RequestScopes(
        held=chips(held_values),
        asked=chips(access_request.scope or ()),
        granted=chips(access_request.granted_scope or ()),
        holds_every_scope=every,
    )


# -- the organizations a partner's apps can sign users in to ---------------------------------------


@dataclass(frozen=True)
class ApiReach:
    """An API an app can ask an organization's users for, and the scopes it would get."""

    name: str
    identifier: str
    scopes: tuple[str, ...]
    through: str  # "its own grant" or "the default permissions"


@dataclass(frozen=True)
class ConnectionReach:
    """One of the organization's enabled connections, and whether the app can sign members in through it."""

    name: str
    is_domain: bool
    open: bool
    why: str  # when not open: the decision's refusal, in a few words


@dataclass
class AppReach:
    application: Application
    apis: list[ApiReach] = field(default_factory=list)
    connections: list[ConnectionReach] = field(default_factory=list)
    why: str = ""  # when it cannot be used with the organization at all

    @property
    def usable(self) -> bool:
        return bool(self.apis) and any(connection.open for connection in self.connections)


@dataclass
class OrganizationReach:
    organization: Organization
    logo_url: str  # an https logo, or "" (nothing is shown)
    apps: list[AppReach]


NO_USER_ACCESS = "It has no access to any API for users yet: ask for it in the API catalog."
NO_CONNECTION = "The organization has no connection its members can sign in through yet."
NO_OPEN_CONNECTION = "None of the organization's connections is open to third-party apps (none is domain level)."
# The decision's sentences speak of a request; on this page, of the app's settings.
APP_REFUSALS = {
    "organization_not_allowed": "It does not use organizations (its organization usage is deny): the tenant's "
    "admins can turn organizations on for it.",
    "organization_permissive_client": "Permissive third-party apps get no organization logins.",
    "grant_type_not_allowed": "It does not sign users in (its grant types do not include the authorization code).",
}


def partner_organizations(partner) -> list[OrganizationReach]:
    """The organizations that allow third-party apps, and for each of ``partner``'s apps (its own
    only) what it can reach there: the APIs and scopes (its client grants for users, or the default
    permissions), and the organization's enabled connections it can sign members in through.

    Organizations that block third-party apps are not read at all. Every yes and no is
    ``oauthcore.policy.decide`` for a well-formed ``/authorize`` request naming the organization;
    each connection is asked again as a member signing in through it. Six statements, however many
    organizations, apps, APIs and connections: the organizations, their connections, the apps, the
    grants for users (the apps' own and the defaults), the APIs those grants name and their scopes.
    """
    links = Prefetch(
        "enabled_connections",
        # A connection switched off lets nobody sign in: it is no way in for anyone's app.
        queryset=OrganizationConnection.objects.filter(connection__is_enabled=True)
        .select_related("connection")
        .order_by("connection__name"),
        to_attr="open_links",
    )
    organizations = sorted(
        Organization.objects.filter(third_party_client_access=ThirdPartyClientAccess.ALLOW).prefetch_related(links),
        key=lambda organization: (organization.shown_name.casefold(), organization.name),
    )
    if not organizations:
        return []
    apps = list(Application.objects.filter(partner=partner).order_by("name", "pk"))
    grants = list(
        ClientGrant.objects.filter(
            Q(client__in=[app.pk for app in apps]) | Q(default_for=DefaultFor.THIRD_PARTY_CLIENTS),
            subject_type=SubjectType.USER,
        )
        if apps
        else []
    )
    apis = {
        api.identifier: api for api in apis_with_scopes().filter(identifier__in={g.resource_server_id for g in grants})
    }
    defaults = {g.resource_server_id: g for g in grants if g.client_id is None}
    own: dict[int, dict[str, ClientGrant]] = {}
    for grant in grants:
        if grant.client_id is not None:
            own.setdefault(grant.client_id, {})[grant.resource_server_id] = grant
    return [
        OrganizationReach(
            organization=organization,
            logo_url=_logo_of(organization),
            apps=[_app_reach(app, organization, apis, own.get(app.pk, {}), defaults) for app in apps],
        )
        for organization in organizations
    ]


def _logo_of(organization: Organization) -> str:
    logo = organization.branding.get("logo_url") if isinstance(organization.branding, dict) else None
    return shown_logo_uri(logo) if isinstance(logo, str) else ""


def _app_reach(app: Application, organization: Organization, apis: dict, own: dict, defaults: dict) -> AppReach:
    """What ``app`` gets in ``organization``: every API it holds a grant for (or the defaults give),
    decided for a request naming the organization; then, for the first API it can reach, each
    enabled connection decided for a member signing in through it."""
    reach = AppReach(app)
    facts = client_facts(app)
    reachable: list[DecisionInputs] = []
    denials: list[Decision] = []
    for identifier in sorted(set(own) | set(defaults), key=lambda key: (apis[key].name, key)):
        found = target(apis[identifier], own_grant=own.get(identifier), default_grant=defaults.get(identifier))
        inputs = well_formed_inputs(facts, found, scopes=found.api.scopes, scope_given=True).with_organization(
            organization, asked=organization.id
        )
        decision = inputs.decide(Flow.AUTHORIZE)
        if decision.denied:
            denials.append(decision)
            continue
        reachable.append(inputs)
        own_grant = own.get(identifier)
        through = (
            "its own grant"
            if own_grant is not None and decision.grant_id == own_grant.id
            else "the default permissions"
        )
        api_scopes = tuple(sorted(decision.scopes & found.api.scopes))
        reach.apis.append(ApiReach(apis[identifier].name, identifier, api_scopes, through))
    if not reachable:
        reach.why = _first_refusal(denials)
        return reach
    for link in organization.open_links:
        decision = reachable[0].with_member_through(link.connection).decide(Flow.AUTHORIZE)
        why = decision.denial.short if decision.denied else ""
        reach.connections.append(
            ConnectionReach(link.connection.label, link.connection.is_domain_connection, decision.allowed, why)
        )
    if not reach.connections:
        reach.why = NO_CONNECTION
    elif not reach.usable:
        reach.why = NO_OPEN_CONNECTION
    return reach


def _first_refusal(denials: list[Decision]) -> str:
    """Why no API can be reached: an organization rule's refusal first (it holds for every API)."""
    if not denials:
        return NO_USER_ACCESS
    organizational = [d for d in denials if d.denial is not None and d.denial.rule is Rule.CONNECTION]
    chosen = (organizational or denials)[0]
    if chosen.reason in {"client_grant_missing", "nothing_grantable"}:
        return NO_USER_ACCESS
    if chosen.reason in APP_REFUSALS:
        return APP_REFUSALS[chosen.reason]
    return chosen.denial.sentence if chosen.denial is not None else chosen.description
