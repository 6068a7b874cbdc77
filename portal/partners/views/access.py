"""Who may see a partner page: the one gate every partner view goes through.

A partner's pages live under ``/portal/<partner_id>/``. The gate finds the signed-in user's
membership of that partner; anyone else gets a 404, exactly as for a partner that does not exist,
so ids reveal nothing. Objects inside are then looked up within ``request.partner`` only. The
gate also holds back partners that are unconfirmed, pending or suspended, and refuses roles below
the page's minimum (403, with the reason).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from oauthcore.audit import Actor
from oauthcore.models import TenantSettings
from oauthcore.throttle import PORTAL_EMAIL, SIGNUP, client_address
from portal.partners import roles
from portal.partners.models import PartnerMembership, PartnerStatus, Role
from portal.platform.caching import never_stored
from portal.platform.csp import decision_page

ROLE_NEEDED = {
    Role.DEVELOPER: "Any member",
    Role.ADMIN: "Only owners and admins",
    Role.OWNER: "Only owners",
}


def portal_page(view):
    """Every portal page: never cached (they show credentials), never framed, no inline script."""
    return never_stored(decision_page(view))


def partner_page(minimum: str = Role.DEVELOPER, *, gated: bool = True):
    """A page of one partner, for its members with at least ``minimum``.

    ``gated`` pages are held back until the partner's email is confirmed and it is active.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, partner_id: int, *args, **kwargs):
            membership = (
                PartnerMembership.objects.select_related("partner")
                .filter(partner_id=partner_id, user=request.user)
                .first()
            )
            if membership is None:
                raise Http404("No such partner.")
            request.membership, request.partner = membership, membership.partner
            if gated and (held := partner_held_back(request)) is not None:
                return held
            if not roles.at_least(membership.role, minimum):
                return render(
                    request,
                    "portal/forbidden.html",
                    partner_context(
                        request, message=f"{ROLE_NEEDED[minimum]} can do this. Your role is {membership.role}."
                    ),
                    status=403,
                )
            return view(request, *args, **kwargs)

        return portal_page(login_required(wrapped, login_url="portal:login"))

    return decorator


def partner_held_back(request):
    """The page a partner sees instead of the portal while it cannot use it yet, or None."""
    partner = request.partner
    if partner.email_verified_at is None:
        return render(request, "portal/verify_pending.html", partner_context(request))
    if partner.status == PartnerStatus.PENDING:
        return render(request, "portal/waiting.html", partner_context(request, tenant=TenantSettings.load()))
    if partner.status == PartnerStatus.SUSPENDED:
        return render(
            request, "portal/suspended.html", partner_context(request, tenant=TenantSettings.load()), status=403
        )
    return None


def partner_context(request, **context) -> dict:
    membership = request.membership
    return {
        "partner": request.partner,
        "membership": membership,
        "can_manage_members": roles.can_manage_members(membership.role),
        "can_edit_partner": roles.can_edit_partner(membership.role),
        "can_delete_partner": roles.can_delete_partner(membership.role),
        **context,
    }


def member_actor(request) -> Actor:
    return Actor.user(request.user)


def email_allowed(scope: str, key: str):
    """Actions that send email are rate limited per person (or address): a Verdict."""
    return PORTAL_EMAIL.hit(f"{scope}:{key}")


def signup_allowed(request):
    return SIGNUP.hit(client_address(request))
