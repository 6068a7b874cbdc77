"""The team (members, roles, invitations) and the partner's own settings.

Role rules live in ``portal.partners.roles`` and are enforced by the services (``by=`` the acting member);
these views only choose what to offer.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.partners import roles
from portal.partners.forms import DeletePartnerForm, InvitationForm, PartnerForm, RoleForm, apply_service_errors
from portal.partners.models import Invitation, PartnerMembership, Role
from portal.partners.selectors import team
from portal.partners.services.invitations import invitation_create, invitation_revoke
from portal.partners.services.memberships import membership_remove, membership_set_role
from portal.partners.services.partners import partner_delete, partner_update
from portal.partners.views.access import email_allowed, member_actor, partner_context, partner_page


def _team_page(request, *, invite_form=None, status=200):
    members, invitations = team(request.partner)
    mine = request.membership
    role_choices = [(r, Role(r).label) for r in roles.grantable_roles(mine.role)]
    rows = [
        {
            "membership": member,
            "is_me": member.pk == mine.pk,
            "can_change": roles.member_change_error(actor_role=mine.role, target_role=member.role) is None
            and member.pk != mine.pk,
            "role_choices": role_choices,
        }
        for member in members
    ]
    if invite_form is None and roles.can_manage_members(mine.role):
        invite_form = InvitationForm(inviter_role=mine.role)
    context = partner_context(request, tab="team", rows=rows, invitations=invitations, invite_form=invite_form)
    return render(request, "portal/team.html", context, status=status)


@partner_page()
def team_page(request):
    return _team_page(request)


@partner_page(Role.ADMIN)
@require_POST
def invite(request):
    form = InvitationForm(request.POST, inviter_role=request.membership.role)
    if not form.is_valid():
        return _team_page(request, invite_form=form, status=400)
    verdict = email_allowed("invite", str(request.user.pk))
    if not verdict:
        form.add_error(None, f"Too many invitations sent. Try again in {verdict.retry_after} seconds.")
        return _team_page(request, invite_form=form, status=429)
    try:
        issued = invitation_create(
            actor=member_actor(request),
            by=request.membership,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return _team_page(request, invite_form=form, status=400)
    messages.success(request, f"Invitation sent to {issued.invitation.email} ({issued.invitation.role}).")
    return redirect("portal:team", request.partner.pk)


def _member(request, membership_id: int) -> PartnerMembership:
    return get_object_or_404(
        PartnerMembership.objects.select_related("user", "partner"), pk=membership_id, partner=request.partner
    )


@partner_page(Role.ADMIN)
@require_POST
def member_role(request, membership_id: int):
    member = _member(request, membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            membership_set_role(
                actor=member_actor(request), membership=member, role=form.cleaned_data["role"], by=request.membership
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{member.user.get_username()} is now {member.role}.")
    else:
        messages.error(request, "Choose a role.")
    return redirect("portal:team", request.partner.pk)


@partner_page()
@require_POST
def member_remove(request, membership_id: int):
    """Removing someone (owners and admins), or leaving (anyone, the last owner excepted)."""
    member = _member(request, membership_id)
    leaving = member.pk == request.membership.pk
    try:
        membership_remove(actor=member_actor(request), membership=member, by=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("portal:team", request.partner.pk)
    if leaving:
        messages.success(request, f"You left {request.partner.name}.")
        return redirect("portal:home")
    messages.success(request, f"{member.user.get_username()} was removed from {request.partner.name}.")
    return redirect("portal:team", request.partner.pk)


@partner_page(Role.ADMIN)
@require_POST
def invitation_cancel(request, invitation_id: int):
    invitation = get_object_or_404(Invitation, pk=invitation_id, partner=request.partner, accepted_at__isnull=True)
    invitation_revoke(actor=member_actor(request), invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect("portal:team", request.partner.pk)


@partner_page()
@require_http_methods(["GET", "POST"])
def settings_page(request):
    partner = request.partner
    editable = roles.can_edit_partner(request.membership.role)
    form = PartnerForm(
        request.POST if request.method == "POST" else None, initial={"name": partner.name, "website": partner.website}
    )
    if request.method == "POST":
        if not editable:
            return render(
                request,
                "portal/forbidden.html",
                partner_context(request, message="Only owners and admins change the organization's details."),
                status=403,
            )
        if form.is_valid():
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                if changed:
                    partner_update(actor=member_actor(request), partner=partner, **changed)
            except ValidationError as error:
                partner.refresh_from_db()
                apply_service_errors(form, error)
            else:
                messages.success(request, "Organization details saved.")
                return redirect("portal:settings", partner.pk)
    context = partner_context(request, tab="settings", form=form, editable=editable)
    return render(request, "portal/settings.html", context, status=400 if form.errors else 200)


@partner_page(Role.OWNER)
@require_http_methods(["GET", "POST"])
def partner_delete_page(request):
    partner = request.partner
    form = DeletePartnerForm(request.POST or None, partner=partner)
    if request.method == "POST" and form.is_valid():
        name = partner.name
        partner_delete(actor=member_actor(request), partner=partner)
        messages.success(request, f"{name} and its apps are deleted.")
        return redirect("portal:home")
    context = partner_context(request, tab="settings", form=form, app_count=partner.applications.count())
    return render(request, "portal/partner_delete.html", context, status=400 if form.errors else 200)
