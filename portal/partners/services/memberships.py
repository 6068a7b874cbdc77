"""Memberships: who belongs to a partner, with which role, and who may change that."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.exceptions import ConflictError
from oauthcore.services.base import save_audited
from portal.partners import roles
from portal.partners.models import Partner, PartnerMembership, Role


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
