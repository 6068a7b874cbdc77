"""Partners: made by a tenant admin or a sign-up, activated or suspended, renamed, deleted with their apps."""

from django.db import transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.models import TenantSettings
from oauthcore.services.applications import application_delete, applications_set_suspended
from oauthcore.services.base import save_audited
from portal.partners import emails
from portal.partners.models import Partner, PartnerMembership, PartnerStatus, Role


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
    """A suspended partner's apps get nothing from any grant type and lose their tokens, in this
    transaction; any other status lifts that (the tokens revoked stay revoked)."""
    with transaction.atomic():
        was = Partner.objects.select_for_update().values_list("status", flat=True).get(pk=partner.pk)
        partner.status = status
        save_audited(partner, actor=actor, action=f"partner.{status}", update_fields=["status"])
        applications_set_suspended(
            actor=actor,
            applications=partner.applications.all(),
            suspended=status == PartnerStatus.SUSPENDED,
            reason=f"partner {status}",
        )
        if was == PartnerStatus.PENDING and status == PartnerStatus.ACTIVE:
            emails.notify_partner_activated(partner=partner)
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
