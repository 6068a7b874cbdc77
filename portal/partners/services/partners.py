"""Partner writes: partners, sign-up, memberships, invitations and access requests.

Every email these writes call for is queued in the same transaction (portal.partners.emails), so it goes
out only if the write commits.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, CreatedVia, GrantType, SecurityMode
from oauthcore.exceptions import ConflictError
from oauthcore.models import Connection, TenantSettings
from oauthcore.services.applications import (
    IssuedCredentials,
    application_create,
    application_delete,
    application_update,
)
from oauthcore.services.base import save_audited
from oauthcore.services.client_grants import client_grant_widen
from oauthcore.services.users import user_create
from portal.partners import emails, roles
from portal.partners.models import (
    AccessRequest,
    Invitation,
    Partner,
    PartnerApplication,
    PartnerMembership,
    PartnerStatus,
    RequestStatus,
    Role,
)

VERIFY_EMAIL_SALT = "portal.verify-email"


def partner_create(*, actor: Actor, name: str, owner, website: str = "", email_verified: bool = True) -> Partner:
    """A new partner with ``owner`` as its first member; pending if the tenant requires approval.

    Partners made by a tenant admin count as verified; a self-service sign-up passes
    ``email_verified=False`` and verifies through the emailed link (``partner_verify_email``).
    """
    status = PartnerStatus.PENDING if TenantSettings.load().require_partner_approval else PartnerStatus.ACTIVE
    partner = Partner(
        name=name, website=website, status=status, email_verified_at=timezone.now() if email_verified else None
    )
    with transaction.atomic():
        save_audited(partner, actor=actor, action="partner.create", data={"owner": owner.pk})
        PartnerMembership.objects.create(partner=partner, user=owner, role=Role.OWNER)
    return partner


def partner_set_status(*, actor: Actor, partner: Partner, status: str) -> Partner:
    with transaction.atomic():
        was = Partner.objects.select_for_update().values_list("status", flat=True).get(pk=partner.pk)
        partner.status = status
        save_audited(partner, actor=actor, action=f"partner.{status}", update_fields=["status"])
        if was == PartnerStatus.PENDING and status == PartnerStatus.ACTIVE:
            emails.notify_partner_activated(partner=partner)
    return partner


# -- self-service sign-up and email verification ------------------------------------------------------------


def _database_connection() -> Connection:
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)


def partner_sign_up(*, name: str, website: str, username: str, email: str, password: str) -> Partner:
    """A partner, its owner's account and the verification email: all of them, or none."""
    with transaction.atomic():
        user = user_create(
            actor=Actor.system("partner sign-up"),
            connection=_database_connection(),
            email=email,
            username=username,
            password=password,
        )
        return partner_register(user=user, name=name, website=website)


def partner_register(*, user, name: str, website: str = "") -> Partner:
    """A partner for a signed-in ``user`` (its owner), unconfirmed until they open the emailed link."""
    with transaction.atomic():
        partner = partner_create(actor=Actor.user(user), name=name, owner=user, website=website, email_verified=False)
        _send_verification(partner, user)
    return partner


def _email_digest(email: str) -> str:
    """Binds a confirmation link to one address without putting the address in the link (and logs)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:24]


def _send_verification(partner: Partner, user) -> None:
    payload = {"partner": partner.pk, "user": user.pk, "email": _email_digest(user.email)}
    token = signing.dumps(payload, salt=VERIFY_EMAIL_SALT)
    emails.send_email_verification(
        partner=partner, user=user, token=token, days=portcullis_settings.PORTAL_VERIFICATION_DAYS
    )


def partner_resend_verification(*, actor: Actor, partner: Partner, user) -> None:
    if partner.email_verified_at is not None:
        raise ValidationError("The email address of this partner is already confirmed.")
    with transaction.atomic():
        record_event(actor=actor, action="partner.verification_resend", target=partner, data={"email": user.email})
        _send_verification(partner, user)


def partner_verify_email(*, token: str) -> Partner:
    """Confirm a partner's email from the emailed link. Confirming twice is fine."""
    max_age = timedelta(days=portcullis_settings.PORTAL_VERIFICATION_DAYS)
    try:
        payload = signing.loads(token, salt=VERIFY_EMAIL_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ValidationError("This confirmation link has expired. Log in to get a new one.") from None
    except signing.BadSignature:
        raise ValidationError("This confirmation link is not valid.") from None
    with transaction.atomic():
        membership = (
            PartnerMembership.objects.select_related("partner", "user")
            .select_for_update(of=("partner",))
            .filter(partner_id=payload.get("partner"), user_id=payload.get("user"), role=Role.OWNER)
            .first()
        )
        if membership is None or _email_digest(membership.user.email) != payload.get("email"):
            raise ValidationError("This confirmation link is not valid.")
        partner = membership.partner
        if partner.email_verified_at is not None:
            return partner
        partner.email_verified_at = timezone.now()
        partner.save(update_fields=["email_verified_at"])
        record_event(
            actor=Actor.user(membership.user),
            action="partner.email_verified",
            target=partner,
            data={"email": membership.user.email},
        )
        if partner.status == PartnerStatus.PENDING:
            emails.notify_partner_waiting(partner=partner)
    return partner


def partner_update(*, actor: Actor, partner: Partner, **fields) -> Partner:
    unknown = set(fields) - {"name", "website"}
    if unknown:
        raise TypeError(f"partner_update got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(partner, name, value)
        save_audited(
            partner, actor=actor, action="partner.update", data={"fields": sorted(fields)}, update_fields=list(fields)
        )
    return partner


def partner_delete(*, actor: Actor, partner: Partner) -> None:
    """The partner, its memberships and requests, and its apps (each through application_delete)."""
    with transaction.atomic():
        for application in partner.applications.all():
            application_delete(actor=actor, application=application)
        record_event(actor=actor, action="partner.delete", target=partner, data={"name": partner.name})
        partner.delete()


def _refuse_losing_the_last_owner(membership: PartnerMembership) -> None:
    others = PartnerMembership.objects.filter(partner=membership.partner_id, role=Role.OWNER).exclude(pk=membership.pk)
    if membership.role == Role.OWNER and not others.select_for_update().exists():
        raise ValidationError("A partner keeps at least one owner.")


def _refuse_beyond_role(by: PartnerMembership | None, stored: PartnerMembership, new_role: str | None) -> None:
    """``by`` is the member making the change from the portal (None: a tenant admin, who may do anything)."""
    if by is None or (new_role is None and by.pk == stored.pk):
        return  # anyone may leave (the last owner excepted)
    if by.partner_id != stored.partner_id:
        raise ValidationError("This member belongs to another partner.")
    message = roles.member_change_error(actor_role=by.role, target_role=stored.role, new_role=new_role)
    if message:
        raise ValidationError(message)


def membership_set_role(
    *, actor: Actor, membership: PartnerMembership, role: str, by: PartnerMembership | None = None
) -> PartnerMembership:
    with transaction.atomic():
        stored = PartnerMembership.objects.select_for_update().get(pk=membership.pk)
        _refuse_beyond_role(by, stored, role)
        if role != Role.OWNER:
            _refuse_losing_the_last_owner(stored)
        membership.role = role
        save_audited(
            membership,
            actor=actor,
            action="partner.member_role",
            target=membership.partner,
            data={"user": membership.user_id, "role": role},
            update_fields=["role"],
            validate_constraints=False,
        )
    return membership


def membership_remove(*, actor: Actor, membership: PartnerMembership, by: PartnerMembership | None = None) -> None:
    with transaction.atomic():
        stored = PartnerMembership.objects.select_for_update().get(pk=membership.pk)
        _refuse_beyond_role(by, stored, None)
        _refuse_losing_the_last_owner(stored)
        record_event(
            actor=actor,
            action="partner.member_remove",
            target=membership.partner,
            data={"user": membership.user_id, "role": stored.role},
        )
        stored.delete()


def membership_add(*, actor: Actor, partner: Partner, user, role: str = Role.DEVELOPER) -> PartnerMembership:
    membership = PartnerMembership(partner=partner, user=user, role=role)
    try:
        with transaction.atomic():
            save_audited(
                membership,
                actor=actor,
                action="partner.member_add",
                target=partner,
                data={"user": user.pk, "role": role},
                validate_constraints=False,
            )
    except IntegrityError as exc:
        raise ConflictError("This user is already a member of this partner.") from exc
    return membership


# -- invitations ----------------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        token_digest=token_digest(token),
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
    invitations = Invitation.objects.select_related("partner", "invited_by").filter(token_digest=token_digest(token))
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
    """A new account for the invited address, joined to the partner: both, or neither."""
    with transaction.atomic():
        invitation = invitation_find(token, lock=True)
        user = user_create(
            actor=Actor.system("invitation sign-up"),
            connection=_database_connection(),
            email=invitation.email,
            username=username,
            password=password,
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


# -- apps -------------------------------------------------------------------------------------------------------

INTERACTIVE_APP_TYPES = (AppType.REGULAR_WEB, AppType.SPA, AppType.NATIVE)


def _grant_types(app_type: str, refresh_tokens: bool) -> list[str]:
    """Machine-to-machine apps use client credentials; the others the authorization code (and refresh)."""
    if app_type not in INTERACTIVE_APP_TYPES:
        return [GrantType.CLIENT_CREDENTIALS.value]
    return [GrantType.AUTHORIZATION_CODE.value] + ([GrantType.REFRESH_TOKEN.value] if refresh_tokens else [])


def partner_application_create(*, actor: Actor, partner: Partner, **arguments) -> IssuedCredentials:
    """An application (``application_create``'s arguments) owned by ``partner``: the app and its link
    in one transaction. The tenant admin's add page uses it as is; the portal through partner_app_create."""
    with transaction.atomic():
        issued = application_create(actor=actor, **arguments)
        PartnerApplication.objects.create(partner=partner, application=issued.application)
    return issued


def partner_app_create(
    *, actor: Actor, partner: Partner, name: str, app_type: str, refresh_tokens: bool = False, **fields
) -> IssuedCredentials:
    """A partner's app: always third party and strict, registered through the portal."""
    return partner_application_create(
        actor=actor,
        partner=partner,
        name=name,
        app_type=app_type,
        created_via=CreatedVia.PORTAL,
        is_first_party=False,
        third_party_security_mode=SecurityMode.STRICT,
        grant_types=_grant_types(app_type, refresh_tokens),
        **fields,
    )


def partner_app_update(*, actor: Actor, application, refresh_tokens: bool = False, **fields):
    """What a partner may change: the app's details and URLs, and whether it uses refresh tokens."""
    return application_update(
        actor=actor,
        application=application,
        grant_types=_grant_types(application.app_type, refresh_tokens),
        **fields,
    )


# -- access requests --------------------------------------------------------------------------------------------


def access_request_create(
    *,
    actor: Actor,
    partner: Partner,
    client,
    resource_server,
    subject_type: str,
    scope: list[str],
    justification: str,
    requested_by=None,
) -> AccessRequest:
    request = AccessRequest(
        partner=partner,
        client=client,
        resource_server=resource_server,
        subject_type=subject_type,
        scope=list(scope),
        justification=justification,
        requested_by=requested_by,
    )
    try:
        with transaction.atomic():
            save_audited(
                request,
                actor=actor,
                action="access_request.create",
                data={"client_id": client.client_id, "audience": resource_server.identifier, "scope": request.scope},
                validate_constraints=False,
            )
            emails.notify_access_requested(request=request)
    except IntegrityError as exc:
        raise ConflictError("A pending request for this app, API and access type already exists.") from exc
    return request


DRAFT_FIELDS = frozenset({"granted_scope", "decision_reason"})


def access_request_save_draft(*, actor: Actor, request: AccessRequest, **fields) -> AccessRequest:
    """The tenant admin's notes on a pending request (the scopes to grant, the reason), kept for the decision.

    Nothing is granted yet: approving is ``access_request_approve``. A request decided meanwhile keeps
    what its decision stored.
    """
    unknown = set(fields) - DRAFT_FIELDS
    if unknown:
        raise TypeError(f"access_request_save_draft got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        status = AccessRequest.objects.select_for_update().values_list("status", flat=True).get(pk=request.pk)
        if status != RequestStatus.PENDING:
            raise ValidationError(f"This request was already {status}.")
        for name, value in fields.items():
            setattr(request, name, value)
        save_audited(
            request,
            actor=actor,
            action="access_request.draft",
            data={"fields": sorted(fields), "granted_scope": request.granted_scope},
            update_fields=sorted(fields),
            validate_constraints=False,
        )
    return request


def _decide(request: AccessRequest, *, status: str, decided_by, reason: str) -> None:
    if request.status != RequestStatus.PENDING:
        raise ValidationError(f"This request was already {request.status}.")
    request.status = status
    request.decided_by = decided_by
    request.decided_at = timezone.now()
    request.decision_reason = reason


def access_request_approve(
    *, actor: Actor, request: AccessRequest, decided_by=None, scope: list[str] | None = None, reason: str = ""
) -> AccessRequest:
    """Approve, optionally narrowing the scopes; creates or widens the app's client grant."""
    granted = list(request.scope if scope is None else scope)
    outside = [value for value in granted if value not in request.scope]
    if outside:
        raise ValidationError({"scope": f"Only requested scopes can be approved, not: {', '.join(outside)}."})
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        _decide(request, status=RequestStatus.APPROVED, decided_by=decided_by, reason=reason)
        request.granted_scope = granted
        request.save()
        client_grant_widen(
            actor=actor,
            client=request.client,
            audience=request.resource_server.identifier,
            subject_type=request.subject_type,
            scope=granted,
        )
        record_event(
            actor=actor, action="access_request.approve", target=request, reason=reason, data={"scope": granted}
        )
        emails.notify_access_decided(request=request)
    return request


def access_request_reject(*, actor: Actor, request: AccessRequest, reason: str, decided_by=None) -> AccessRequest:
    if not reason.strip():
        raise ValidationError({"decision_reason": "Give the partner a reason for the rejection."})
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        _decide(request, status=RequestStatus.REJECTED, decided_by=decided_by, reason=reason)
        request.save()
        record_event(actor=actor, action="access_request.reject", target=request, reason=reason)
        emails.notify_access_decided(request=request)
    return request
