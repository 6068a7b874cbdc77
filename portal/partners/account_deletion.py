"""An end user may delete their own account (``/account/delete``), unless a partner would be left
without an owner: a partner keeps at least one, as its membership services make sure."""

from portal.partners.models import Partner, PartnerMembership, Role


def sole_owner_refusal(sender, user, **kwargs) -> str | None:
    """``consent.signals.account_deletion_refusals``' receiver: the partners ``user`` alone owns."""
    owned = PartnerMembership.objects.filter(user=user, role=Role.OWNER).values("partner")
    shared = PartnerMembership.objects.filter(partner__in=owned, role=Role.OWNER).exclude(user=user).values("partner")
    names = list(
        Partner.objects.filter(pk__in=owned).exclude(pk__in=shared).order_by("name").values_list("name", flat=True)
    )
    if not names:
        return None
    return (
        f"You are the only owner of {', '.join(names)} in the partner portal: make another member an owner, "
        "or delete the partner, before you delete your account."
    )
