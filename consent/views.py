"""``/account/apps``: the apps a user has authorized, and taking an authorization back."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from consent.models import UserGrant
from consent.selectors import authorized_apps_by_organization
from consent.services import user_grant_revoke
from oauthcore.audit import Actor
from oauthcore.selectors import app_is_unverified
from portal.platform.csp import decision_page


@never_cache
@decision_page
@login_required
def apps(request):
    sections = authorized_apps_by_organization(request.user)
    return render(request, "consent/authorized_apps.html", {"sections": sections})


@never_cache
@decision_page
@login_required
@require_http_methods(["GET", "POST"])
def revoke(request, grant_id: str):
    # Only the user's own consents: anyone else's is "not found", whatever its id.
    grant = get_object_or_404(
        UserGrant.objects.select_related("client__partner_link", "organization"), pk=grant_id, user=request.user
    )
    grant.unverified = app_is_unverified(grant.client)
    if request.method == "GET":  # without JavaScript, the confirmation is a page of its own
        return render(request, "consent/revoke_confirm.html", {"grant": grant})
    name, organization = grant.client.name, grant.organization
    # Only this consent: one given for the same app in another organization (or outside any) stays.
    user_grant_revoke(actor=Actor.user(request.user), grant=grant)
    context = {"grant_id": grant_id, "name": name, "organization": organization}
    if request.htmx:
        return render(request, "consent/grant_revoked.html", context)
    where = f" in {organization.shown_name}" if organization is not None else ""
    messages.success(request, f"{name} no longer has access to your account{where}.")
    return redirect("account-apps")
