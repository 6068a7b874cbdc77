"""Reads for the partner portal: who gets which email, and what a member sees."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from oauthcore.models import Application, ClientGrant, PreviousClientSecret, TenantSettings
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
