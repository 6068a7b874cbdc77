"""Self-service sign-up and the email verification that confirms a partner's address."""

import hashlib
from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.services.users import user_create
from portal.partners import emails
from portal.partners.models import Partner, PartnerMembership, PartnerStatus, Role
from portal.partners.services._base import database_connection
from portal.partners.services.partners import partner_create

VERIFY_EMAIL_SALT = "portal.verify-email"


def partner_sign_up(*, name: str, website: str, username: str, email: str, password: str) -> Partner:
    """A partner, its owner's account and the verification email: all of them, or none."""
    with transaction.atomic():
        user = user_create(
            actor=Actor.system("partner sign-up"),
            connection=database_connection(),
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
