"""Access requests: a partner asks for an API for one of its apps; a tenant admin approves or rejects."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.exceptions import ConflictError
from oauthcore.services.base import save_audited
from oauthcore.services.client_grants import client_grant_widen
from portal.partners import emails
from portal.partners.models import AccessRequest, Partner, RequestStatus


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
