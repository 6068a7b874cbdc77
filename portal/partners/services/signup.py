"""Self-service sign-up and the email verification that confirms a partner's address.

An address typed into the sign-up form is a claim, not an identity: the account may log in, but
its ``email_verified`` stays false, and it does not keep anyone else from signing up with the same
address. The first claim confirmed (its emailed link opened, or an invitation to the address
accepted) wins and the competing sign-up claims are dropped; a claim whose link lapsed is released
at the next sign-up for its address. Both are audited (``user.email_claim_drop``).
"""

import hashlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.models import AuditEvent
from oauthcore.services.users import user_create, user_delete
from portal.partners import emails
from portal.partners.models import Partner, PartnerMembership, PartnerStatus, Role
from portal.partners.services._base import database_connection
from portal.partners.services.partners import partner_create, partner_delete

VERIFY_EMAIL_SALT = "portal.verify-email"
SIGN_UP_ACTOR = Actor.system("partner sign-up")  # the audit's creator of every sign-up claim


def partner_sign_up(*, name: str, website: str, username: str, email: str, password: str) -> Partner:
    """A partner, its owner's account and the verification email: all of them, or none."""
    connection = database_connection()
    with transaction.atomic():
        for claim in _sign_up_claims(email=email, connection=connection):
            if _link_lapsed(claim):
                _claim_drop(claim, reason="its confirmation link lapsed")
        user = user_create(
            actor=SIGN_UP_ACTOR,
            connection=connection,
            email=email,
            username=username,
            password=password,
            address_claim=True,
        )
        return partner_register(user=user, name=name, website=website)


def _sign_up_claims(*, email: str, connection, exclude=None) -> list:
    """The unverified accounts holding ``email`` that are nothing but a sign-up: made by the sign-up
    form, owners of unconfirmed partners only. Accounts made by an admin, the API or an invitation,
    or that joined a partner since, are never dropped."""
    User = get_user_model()
    claims = (
        User.objects.filter(
            connection=connection,
            email__iexact=email,
            email_verified=False,
            is_staff=False,
            is_superuser=False,
            partner_memberships__role=Role.OWNER,
            partner_memberships__partner__email_verified_at__isnull=True,
        )
        .exclude(partner_memberships__partner__email_verified_at__isnull=False)
        .exclude(partner_memberships__role__in=[Role.ADMIN, Role.DEVELOPER])
        .distinct()
    )
    if exclude is not None:
        claims = claims.exclude(pk=exclude.pk)
    candidates = [str(pk) for pk in claims.values_list("pk", flat=True)]
    made_by_sign_up = AuditEvent.objects.filter(
        action="user.create",
        actor_type=SIGN_UP_ACTOR.type,
        actor_label=SIGN_UP_ACTOR.label,
        target_type=User._meta.label_lower,
        target_id__in=candidates,
    ).values_list("target_id", flat=True)
    # Locked through a plain query: PostgreSQL refuses FOR UPDATE with DISTINCT.
    return list(User.objects.select_for_update().filter(pk__in=list(made_by_sign_up)).order_by("pk"))


def _link_lapsed(claim) -> bool:
    """Whether every confirmation link sent to ``claim`` has expired (sign-up, then any resend)."""
    partner_ids = [str(pk) for pk in PartnerMembership.objects.filter(user=claim).values_list("partner_id", flat=True)]
    resent = AuditEvent.objects.filter(
        action="partner.verification_resend", target_type="portal.partner", target_id__in=partner_ids
    ).aggregate(last=Max("created_at"))["last"]
    last_sent = max(filter(None, [claim.date_joined, resent]))
    return last_sent <= timezone.now() - timedelta(days=portcullis_settings.PORTAL_VERIFICATION_DAYS)


def _claim_drop(claim, *, reason: str) -> None:
    """Remove a sign-up claim: the partners it alone owns, then the account (tokens revoked)."""
    actor = Actor.system("email address claim")
    record_event(
        actor=actor,
        action="user.email_claim_drop",
        target=claim,
        reason=reason,
        data={"user_id": claim.user_id, "email": claim.email, "username": claim.get_username()},
    )
    for membership in PartnerMembership.objects.filter(user=claim).select_related("partner"):
        if not membership.partner.memberships.exclude(user=claim).exists():
            partner_delete(actor=actor, partner=membership.partner)
    user_delete(actor=actor, user=claim)


def address_verify(*, actor: Actor, user, proof: str) -> None:
    """``user`` proved their address (``proof`` says how): it becomes theirs, verified, and the other
    sign-up claims on it are dropped. Refused when another account already holds it verified.

    Call it inside the caller's transaction.
    """
    if user.email_verified:
        return
    user.email_verified = True
    try:
        with transaction.atomic():
            user.save(update_fields=["email_verified"])
    except IntegrityError:
        user.email_verified = False
        raise ValidationError(
            "This email address is already confirmed on another account. Log in with that account."
        ) from None
    record_event(actor=actor, action="user.email_verify", target=user, data={"email": user.email, "proof": proof})
    for claim in _sign_up_claims(email=user.email, connection=user.connection_id, exclude=user):
        _claim_drop(claim, reason=f"{user.user_id} confirmed the address first")


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
        address_verify(actor=Actor.user(membership.user), user=membership.user, proof="confirmation link")
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
