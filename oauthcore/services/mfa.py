"""Second factors: enrolling, using and removing them, each write audited with it.

* TOTP (RFC 6238): 6 digits every 30 seconds, one step of clock drift either way. The secret is
  sealed at rest (``oauthcore.sealed``). An authenticator counts once the user typed a code it made;
  a code is never accepted twice: the last time step used is kept, and a code of that step or an
  earlier one is refused (RFC 6238 §5.2).
* Recovery codes: ten, shown once when the first factor is enrolled (and when the user makes new
  ones), each good for one login. Only their SHA-256 is kept; a use marks the row with a
  conditional UPDATE, so two requests racing with one code cannot both pass.
* Passkeys (WebAuthn Level 3, through py_webauthn): the relying party is the issuer's host, the
  origin the issuer's; the challenge of a ceremony lives in the server-side session, and a
  signature counter that does not grow (a cloned authenticator) is refused.
"""

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import webauthn
from django.db import transaction
from django.utils import timezone
from webauthn.helpers import bytes_to_base64url, options_to_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.credentials import link_token_digest
from oauthcore.models import Authenticator, AuthenticatorKind, RecoveryCode, TenantSettings
from oauthcore.sealed import seal, unseal
from oauthcore.services.base import save_audited
from oauthcore.throttle import MFA_LOCKOUT, retry_message

RECOVERY_CODE_COUNT = 10
TOTP_DRIFT_STEPS = 1
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
# Removing a factor weakens the account: it needs a login this recent (or, on the page, the password).
RECENT_LOGIN = timedelta(minutes=10)
# How the APIs name a factor: ``{prefix}|{pk}``, and the recovery codes as one ``recovery-code|{user uid}``.
FACTOR_ID_PREFIX = {AuthenticatorKind.TOTP: "totp", AuthenticatorKind.WEBAUTHN: "webauthn"}
RECOVERY_CODE_PREFIX = "recovery-code"


class MfaError(Exception):
    """Input a person can correct: the message says what to do."""


class MfaLockedOut(MfaError):
    """Too many wrong answers for this account: nothing is checked for ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_message(retry_after))
        self.retry_after = retry_after


def mfa_lockout_key(user) -> str:
    """The account's one count of wrong second-factor answers (``throttle.MFA_LOCKOUT``), shared by
    the login's second step, the enrollment pages and the account APIs."""
    return f"user:{user.pk}"


# -- what a login needs ------------------------------------------------------------------------


def confirmed_factors(user):
    return Authenticator.objects.filter(user=user, confirmed_at__isnull=False)


def has_second_factor(user) -> bool:
    return confirmed_factors(user).exists()


def unused_recovery_codes(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def logged_in_recently(user) -> bool:
    """The user's last login (any session's) is within RECENT_LOGIN."""
    return user.last_login is not None and timezone.now() - user.last_login <= RECENT_LOGIN


def factor_id(authenticator: Authenticator) -> str:
    return f"{FACTOR_ID_PREFIX[authenticator.kind]}|{authenticator.pk}"


def recovery_code_id(user) -> str:
    return f"{RECOVERY_CODE_PREFIX}|{user.uid}"


def factor_by_id(user, identifier: str) -> Authenticator | None:
    """The user's authenticator ``identifier`` names (``factor_id``), confirmed or not; None for another's."""
    prefix, _, pk = str(identifier).partition("|")
    kinds = {value: kind for kind, value in FACTOR_ID_PREFIX.items()}
    if prefix not in kinds or not pk.isdigit():
        return None
    return Authenticator.objects.filter(user=user, kind=kinds[prefix], pk=int(pk)).first()


def tenant_mfa_policy() -> str:
    return TenantSettings.load().mfa_policy


# -- TOTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrollment:
    authenticator: Authenticator
    secret: str  # base32, shown to the user once to put in their app
    uri: str  # otpauth:// for a QR code


def _totp(authenticator: Authenticator) -> pyotp.TOTP:
    return pyotp.TOTP(unseal(authenticator.sealed_secret)["secret"])


def totp_enroll_start(*, actor: Actor, user, name: str = "Authenticator app") -> TotpEnrollment:
    """A new, unconfirmed TOTP authenticator (replacing an enrollment left unfinished). A user keeps
    one authenticator app: a confirmed one must be removed first."""
    secret = pyotp.random_base32()
    with transaction.atomic():
        existing = Authenticator.objects.select_for_update().filter(user=user, kind=AuthenticatorKind.TOTP).first()
        if existing is not None and existing.confirmed:
            raise MfaError("You already have an authenticator app. Remove it first to enroll another.")
        if existing is not None:
            existing.delete()
        authenticator = save_audited(
            Authenticator(user=user, kind=AuthenticatorKind.TOTP, name=name, sealed_secret=seal({"secret": secret})),
            actor=actor,
            action="mfa.totp_enroll_start",
            target=user,
        )
    return _enrollment(authenticator, secret, user)


def totp_pending_enrollment(user) -> TotpEnrollment | None:
    """The enrollment in progress (its secret shown again after a wrong code), or None."""
    authenticator = Authenticator.objects.filter(
        user=user, kind=AuthenticatorKind.TOTP, confirmed_at__isnull=True
    ).first()
    if authenticator is None:
        return None
    return _enrollment(authenticator, unseal(authenticator.sealed_secret)["secret"], user)


def _enrollment(authenticator: Authenticator, secret: str, user) -> TotpEnrollment:
    issuer_name = TenantSettings.load().friendly_name
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email or user.get_username(), issuer_name=issuer_name)
    return TotpEnrollment(authenticator=authenticator, secret=secret, uri=uri)


def _matching_step(totp: pyotp.TOTP, code: str, now: float) -> int | None:
    """The time step whose code ``code`` is (within the drift allowed), or None."""
    code = "".join(str(code).split())
    if not (code.isdigit() and len(code) == totp.digits):
        return None
    current = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_enroll_confirm(*, actor: Actor, user, code: str) -> list[str]:
    """Confirm the pending authenticator app with a code it made. Returns the recovery codes made
    now (the user's first factor), or [] when they already have some."""
    with transaction.atomic():
        authenticator = (
            Authenticator.objects.select_for_update()
            .filter(user=user, kind=AuthenticatorKind.TOTP, confirmed_at__isnull=True)
            .first()
        )
        if authenticator is None:
            raise MfaError("Start again: this enrollment is over.")
        step = _matching_step(_totp(authenticator), code, time.time())
        if step is None:
            raise MfaError("That code is not the one your app shows. Check the clock of your device and try again.")
        authenticator.confirmed_at = authenticator.last_used_at = timezone.now()
        authenticator.last_step = step
        save_audited(
            authenticator,
            actor=actor,
            action="mfa.enroll",
            target=user,
            data={"kind": authenticator.kind, "authenticator": authenticator.pk},
        )
        return _first_recovery_codes(actor=actor, user=user)


def totp_enroll_confirm_counted(*, actor: Actor, user, code: str) -> list[str]:
    """``totp_enroll_confirm`` under the account's lockout: a wrong code counts, and at the limit
    (or while locked) ``MfaLockedOut`` is raised without checking the code; a right one clears the count."""
    key = mfa_lockout_key(user)
    if locked := MFA_LOCKOUT.locked_for(key):
        raise MfaLockedOut(locked)
    try:
        codes = totp_enroll_confirm(actor=actor, user=user, code=code)
    except MfaError:
        if locked := MFA_LOCKOUT.failure(key):
            raise MfaLockedOut(locked) from None
        raise
    MFA_LOCKOUT.success(key)
    return codes


def totp_verify(*, user, code: str) -> bool:
    """A login's second factor: the code of the user's authenticator app, never one used before."""
    with transaction.atomic():
        authenticator = (
            Authenticator.objects.select_for_update()
            .filter(user=user, kind=AuthenticatorKind.TOTP, confirmed_at__isnull=False)
            .first()
        )
        if authenticator is None:
            return False
        step = _matching_step(_totp(authenticator), code, time.time())
        replayed = step is not None and authenticator.last_step is not None and step <= authenticator.last_step
        if step is None or replayed:
            record_event(
                actor=Actor.user(user),
                action="mfa.verify_failed",
                target=user,
                reason="A code already used." if replayed else "A wrong code.",
                data={"kind": authenticator.kind},
            )
            return False
        authenticator.last_step = step
        authenticator.last_used_at = timezone.now()
        authenticator.save(update_fields=["last_step", "last_used_at"])
        record_event(actor=Actor.user(user), action="mfa.verify", target=user, data={"kind": authenticator.kind})
        return True


# -- recovery codes --------------------------------------------------------------------------------


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalized(code: str) -> str:
    raw = "".join(ch for ch in str(code).lower() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=link_token_digest(code)) for code in codes)
    return codes


def _first_recovery_codes(*, actor: Actor, user) -> list[str]:
    if RecoveryCode.objects.filter(user=user).exists():
        return []
    codes = _replace_recovery_codes(user)
    record_event(actor=actor, action="mfa.recovery_codes", target=user, data={"count": len(codes)})
    return codes


def recovery_codes_regenerate(*, actor: Actor, user) -> list[str]:
    """New recovery codes, the old ones void: for a user with a second factor only."""
    with transaction.atomic():
        if not confirmed_factors(user).exists():
            raise MfaError("Enroll an authenticator app or a passkey first.")
        codes = _replace_recovery_codes(user)
        record_event(actor=actor, action="mfa.recovery_codes", target=user, data={"count": len(codes)})
    return codes


def recovery_code_use(*, user, code: str) -> bool:
    """A login's second factor: one unused recovery code, used up by this call."""
    with transaction.atomic():
        used = RecoveryCode.objects.filter(
            user=user, digest=link_token_digest(_normalized(code)), used_at__isnull=True
        ).update(used_at=timezone.now())
        if not used:
            record_event(
                actor=Actor.user(user),
                action="mfa.verify_failed",
                target=user,
                reason="A wrong or used recovery code.",
                data={"kind": "recovery_code"},
            )
            return False
        left = unused_recovery_codes(user)
        record_event(
            actor=Actor.user(user), action="mfa.verify", target=user, data={"kind": "recovery_code", "left": left}
        )
        return True


# -- passkeys (WebAuthn) -----------------------------------------------------------------------------


def relying_party() -> tuple[str, str]:
    """(RP ID, origin): the issuer's host and origin, whatever Host a request came with."""
    issuer = urlsplit(portcullis_settings.issuer)
    return issuer.hostname or "", f"{issuer.scheme}://{issuer.netloc}"


def _descriptors(user) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(credential_id))
        for credential_id in confirmed_factors(user)
        .filter(kind=AuthenticatorKind.WEBAUTHN)
        .values_list("credential_id", flat=True)
    ]


def passkey_registration_options(user) -> tuple[str, str]:
    """(the options for ``navigator.credentials.create`` as JSON, the challenge to keep in the session)."""
    rp_id, _origin = relying_party()
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=TenantSettings.load().friendly_name,
        user_name=user.email or user.get_username(),
        user_id=user.user_id.encode(),
        user_display_name=user.get_full_name() or user.get_username(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=_descriptors(user),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def passkey_register(*, actor: Actor, user, credential: str, challenge: str, name: str = "Passkey") -> list[str]:
    """Keep the passkey the browser made for ``challenge``; the recovery codes made now (first factor)."""
    rp_id, origin = relying_party()
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=webauthn.base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise MfaError("The passkey could not be registered. Try again.") from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    with transaction.atomic():
        if Authenticator.objects.filter(credential_id=credential_id).exists():
            raise MfaError("This passkey is registered already.")
        now = timezone.now()
        save_audited(
            Authenticator(
                user=user,
                kind=AuthenticatorKind.WEBAUTHN,
                name=(name or "Passkey")[:100],
                credential_id=credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                confirmed_at=now,
            ),
            actor=actor,
            action="mfa.enroll",
            target=user,
            data={"kind": AuthenticatorKind.WEBAUTHN.value},
        )
        return _first_recovery_codes(actor=actor, user=user)


def passkey_authentication_options(user) -> tuple[str, str]:
    """(the options for ``navigator.credentials.get`` as JSON, the challenge to keep in the session)."""
    rp_id, _origin = relying_party()
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, allow_credentials=_descriptors(user), user_verification=UserVerificationRequirement.PREFERRED
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def passkey_verify(*, user, credential: str, challenge: str) -> bool:
    """A login's second factor: an assertion of one of the user's passkeys, for ``challenge``."""
    rp_id, origin = relying_party()
    try:
        credential_id = webauthn.helpers.parse_authentication_credential_json(credential).id
    except (WebAuthnException, ValueError, KeyError, TypeError):  # malformed: not a passkey answer
        return False
    with transaction.atomic():
        authenticator = (
            Authenticator.objects.select_for_update()
            .filter(user=user, kind=AuthenticatorKind.WEBAUTHN, credential_id=credential_id, confirmed_at__isnull=False)
            .first()
        )
        if authenticator is None:
            return False
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential,
                expected_challenge=webauthn.base64url_to_bytes(challenge),
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=bytes(authenticator.public_key),
                credential_current_sign_count=authenticator.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            record_event(
                actor=Actor.user(user),
                action="mfa.verify_failed",
                target=user,
                reason=f"A passkey answer refused: {exc}",
                data={"kind": authenticator.kind},
            )
            return False
        authenticator.sign_count = verified.new_sign_count
        authenticator.last_used_at = timezone.now()
        authenticator.save(update_fields=["sign_count", "last_used_at"])
        record_event(actor=Actor.user(user), action="mfa.verify", target=user, data={"kind": authenticator.kind})
        return True


# -- removing ------------------------------------------------------------------------------------------


def authenticator_remove(*, actor: Actor, authenticator: Authenticator) -> None:
    """Remove a factor; with the last one go the recovery codes (they only stand in for a factor)."""
    with transaction.atomic():
        user = authenticator.user
        record_event(
            actor=actor,
            action="mfa.remove",
            target=user,
            data={"kind": authenticator.kind, "authenticator": authenticator.pk},
        )
        authenticator.delete()
        if not confirmed_factors(user).exists():
            RecoveryCode.objects.filter(user=user).delete()


def factors_reset(*, actor: Actor, user) -> int:
    """Remove every second factor of ``user`` (pending enrollments too) and their recovery codes, in
    one transaction: for a user who lost their device, whom an administrator vouches for. They sign
    in with their password alone until they enroll again (or the tenant's policy asks them to).
    Returns how many factors went."""
    with transaction.atomic():
        type(user).objects.select_for_update().filter(pk=user.pk).first()  # one reset at a time per user
        factors = list(Authenticator.objects.filter(user=user).values_list("pk", "kind"))
        codes, _ = RecoveryCode.objects.filter(user=user).delete()
        Authenticator.objects.filter(pk__in=[pk for pk, _ in factors]).delete()
        record_event(
            actor=actor,
            action="mfa.reset",
            target=user,
            data={"authenticators": [pk for pk, _ in factors], "kinds": sorted({kind for _, kind in factors})}
            | {"recovery_codes": codes},
        )
    return len(factors)
