"""Invitations: a member invites a colleague by email; the emailed link joins them, once."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.credentials import link_token_digest
from oauthcore.exceptions import ConflictError
from oauthcore.services.users import user_create
from portal.partners import emails, roles
from portal.partners.models import Invitation, PartnerMembership, Role
from portal.partners.services._base import database_connection
from portal.partners.services.memberships import membership_add
from portal.partners.services.signup import address_verify


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # in the emailed link only; the database keeps its digest


def invitation_create(*, actor: Actor, by: PartnerMembership, email: str, role: str) -> IssuedInvitation:
    """Invite ``email`` to ``by``'s partner with ``role`` (at most ``by``'s own) and email the link.

    A newer invitation to the same address replaces the open one.
    """
    partner = by.partner
    if role not in roles.grantable_roles(by.role):
        if not roles.can_manage_members(by.role):
            raise ValidationError("Only owners and admins invite members.")
        raise ValidationError(
            {"role": f"As {'an' if by.role == Role.ADMIN else 'a'} {by.role} you cannot invite {role}s."}
        )
    email = email.strip()
    if PartnerMembership.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {partner.name}."})
    email = email.lower()  # stored lower-case: one address is one invitation, found by the index
    days = portcullis_settings.PORTAL_INVITATION_DAYS
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        partner=partner,
        email=email,
        role=role,
        token_digest=link_token_digest(token),
        invited_by=by.user,
        expires_at=timezone.now() + timedelta(days=days),
    )
    with transaction.atomic():
        invitation.full_clean(exclude=["token_digest"])
        replaced = Invitation.objects.filter(partner=partner, email=email, accepted_at__isnull=True).delete()[0]
        invitation.save()
        record_event(
            actor=actor,
            action="partner.invite",
            target=partner,
            data={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat(), "replaced": replaced},
        )
        emails.send_invitation(invitation=invitation, token=token, days=days)
    return IssuedInvitation(invitation, token)


def invitation_revoke(*, actor: Actor, invitation: Invitation) -> None:
    with transaction.atomic():
        record_event(
            actor=actor,
            action="partner.invitation_revoke",
            target=invitation.partner,
            data={"email": invitation.email, "role": invitation.role},
        )
        invitation.delete()


def invitation_find(token: str, *, lock: bool = False) -> Invitation:
    """The open invitation behind an emailed link, or a ValidationError saying why it cannot be used.

    ``lock`` holds its row until the caller's transaction ends (accepting it is single use).
    """
    invitations = Invitation.objects.select_related("partner", "invited_by").filter(
        token_digest=link_token_digest(token)
    )
    if lock:
        invitations = invitations.select_for_update(of=("self",))
    return _usable(invitations.first())


def _usable(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise ValidationError("This invitation link is not valid. Ask for a new invitation.")
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was already accepted.")
    if invitation.expires_at <= timezone.now():
        raise ValidationError("This invitation has expired. Ask for a new invitation.")
    inviter = (
        invitation.invited_by
        and PartnerMembership.objects.filter(partner=invitation.partner_id, user=invitation.invited_by).first()
    )
    if not inviter or invitation.role not in roles.grantable_roles(inviter.role):
        # Whoever invited may no longer give this role: the invitation lapses with their rights.
        raise ValidationError("This invitation is no longer valid. Ask for a new invitation.")
    return invitation


def invitation_accept(*, token: str, user) -> PartnerMembership:
    """``user`` joins with the invitation's role. Single use; the account's email must be the invited one."""
    with transaction.atomic():
        return _join(invitation_find(token, lock=True), user)


def invitation_sign_up(*, token: str, username: str, password: str) -> PartnerMembership:
    """A new account for the invited address, joined to the partner: both, or neither.

    Whoever opened the emailed link receives mail there: the account starts verified, alongside any
    unverified claims on the address (``_join`` drops those that were only sign-ups).
    """
    with transaction.atomic():
        invitation = invitation_find(token, lock=True)
        user = user_create(
            actor=Actor.system("invitation sign-up"),
            connection=database_connection(),
            email=invitation.email,
            username=username,
            password=password,
            address_claim=True,
        )
        return _join(invitation, user)


def _join(invitation: Invitation, user) -> PartnerMembership:
    """Accept a locked, usable invitation for ``user`` (inside the caller's transaction)."""
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(
            f"This invitation was sent to {invitation.email}. Log in with that account, or sign up with it."
        )
    if PartnerMembership.objects.filter(partner=invitation.partner, user=user).exists():
        raise ConflictError(f"You are already a member of {invitation.partner.name}.")
    address_verify(actor=Actor.user(user), user=user, proof="invitation accepted")
    membership = membership_add(actor=Actor.user(user), partner=invitation.partner, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record_event(
        actor=Actor.user(user),
        action="partner.invitation_accept",
        target=invitation.partner,
        data={"email": invitation.email, "role": invitation.role},
    )
    return membership
