"""Partner writes: partners, memberships and access requests."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.exceptions import ConflictError
from oauthcore.models import TenantSettings
from oauthcore.services.applications import application_delete
from oauthcore.services.client_grants import client_grant_widen
from portal.models import AccessRequest, Partner, PartnerMembership, PartnerStatus, RequestStatus, Role


def partner_create(*, actor: Actor, name: str, owner, website: str = "") -> Partner:
    """A new partner with ``owner`` as its first member; pending if the tenant requires approval."""
    status = PartnerStatus.PENDING if TenantSettings.load().require_partner_approval else PartnerStatus.ACTIVE
    partner = Partner(name=name, website=website, status=status)
    with transaction.atomic():
        partner.full_clean()
        partner.save()
        PartnerMembership.objects.create(partner=partner, user=owner, role=Role.OWNER)
        record_event(actor=actor, action="partner.create", target=partner, data={"owner": owner.pk})
    return partner


def partner_set_status(*, actor: Actor, partner: Partner, status: str) -> Partner:
    with transaction.atomic():
        partner.status = status
        partner.full_clean()
        partner.save(update_fields=["status"])
        record_event(actor=actor, action=f"partner.{status}", target=partner)
    return partner


def partner_update(*, actor: Actor, partner: Partner, **fields) -> Partner:
    unknown = set(fields) - {"name", "website"}
    if unknown:
        raise TypeError(f"partner_update got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(partner, name, value)
        partner.full_clean()
        partner.save(update_fields=list(fields))
        record_event(actor=actor, action="partner.update", target=partner, data={"fields": sorted(fields)})
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


def membership_set_role(*, actor: Actor, membership: PartnerMembership, role: str) -> PartnerMembership:
    with transaction.atomic():
        stored = PartnerMembership.objects.select_for_update().get(pk=membership.pk)
        if role != Role.OWNER:
            _refuse_losing_the_last_owner(stored)
        membership.role = role
        membership.full_clean(validate_constraints=False)
        membership.save(update_fields=["role"])
        record_event(
            actor=actor,
            action="partner.member_role",
            target=membership.partner,
            data={"user": membership.user_id, "role": role},
        )
    return membership


def membership_remove(*, actor: Actor, membership: PartnerMembership) -> None:
    with transaction.atomic():
        stored = PartnerMembership.objects.select_for_update().get(pk=membership.pk)
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
            membership.full_clean(validate_constraints=False)
            membership.save()
            record_event(actor=actor, action="partner.member_add", target=partner, data={"user": user.pk, "role": role})
    except IntegrityError as exc:
        raise ConflictError("This user is already a member of this partner.") from exc
    return membership


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
            request.full_clean(validate_constraints=False)
            request.save()
            record_event(
                actor=actor,
                action="access_request.create",
                target=request,
                data={"client_id": client.client_id, "audience": resource_server.identifier, "scope": request.scope},
            )
    except IntegrityError as exc:
        raise ConflictError("A pending request for this app, API and access type already exists.") from exc
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
    return request


def access_request_reject(*, actor: Actor, request: AccessRequest, reason: str, decided_by=None) -> AccessRequest:
    if not reason.strip():
        raise ValidationError({"decision_reason": "Give the partner a reason for the rejection."})
    with transaction.atomic():
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        _decide(request, status=RequestStatus.REJECTED, decided_by=decided_by, reason=reason)
        request.save()
        record_event(actor=actor, action="access_request.reject", target=request, reason=reason)
    return request
