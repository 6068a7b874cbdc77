"""The device authorization grant (RFC 8628): creating a device code, the user's answer, polling."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.consents import consent_store
from oauthcore.models import Application, DeviceGrant

# RFC 8628 §6.1: no vowels (no words), no look-alikes; 20^8 codes, typed as BCDF-GHJK.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for good


@dataclass(frozen=True)
class PollError:
    code: str
    description: str


def normalize_user_code(text: str) -> str:
    """What the user typed, as stored: upper case, without dashes or spaces."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def format_user_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def _new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def device_grant_create(*, application: Application, audience: str | None, scopes) -> DeviceGrant:
    """A device code and a user code for what the policy allowed (scopes and API decided already)."""
    expires = timezone.now() + timedelta(seconds=portcullis_settings.DEVICE_CODE_LIFETIME)
    for _attempt in range(5):  # a user code collision is rare; try another
        try:
            with transaction.atomic():
                grant = DeviceGrant.objects.create(
                    client_id=application.client_id,
                    device_code=secrets.token_urlsafe(32),
                    user_code=_new_user_code(),
                    scope=" ".join(sorted(scopes)),
                    audience=audience or "",
                    interval=portcullis_settings.DEVICE_POLL_INTERVAL,
                    expires=expires,
                )
                record_event(
                    actor=Actor.client(application),
                    action="device.authorize_request",
                    target=grant,
                    data={"client_id": application.client_id, "audience": grant.audience, "scope": grant.scope},
                )
                return grant
        except IntegrityError:
            continue
    raise RuntimeError("Could not allocate a unique user code.")


def pending_device_grant(user_code: str) -> DeviceGrant | None:
    """The pending, unexpired authorization a user code names, or None."""
    code = normalize_user_code(user_code)
    if len(code) != USER_CODE_LENGTH:
        return None
    return DeviceGrant.objects.filter(
        user_code=code, status=DeviceGrant.AUTHORIZATION_PENDING, expires__gt=timezone.now()
    ).first()


def device_grant_answer(*, grant: DeviceGrant, user, approved_scopes) -> DeviceGrant | None:
    """The user approves ``approved_scopes`` (none: declines). Returns the grant, or None if it is
    no longer pending (answered in another tab, or expired meanwhile)."""
    with transaction.atomic():
        grant = DeviceGrant.objects.select_for_update().filter(pk=grant.pk).first()
        if grant is None or grant.status != DeviceGrant.AUTHORIZATION_PENDING or grant.expires <= timezone.now():
            return None
        application = Application.objects.get(client_id=grant.client_id)
        approved = sorted(set(approved_scopes))
        grant.user = user
        if approved:
            grant.status = DeviceGrant.AUTHORIZED
            grant.scope = " ".join(approved)
            # The same consent record as /authorize: /account/apps shows it and can take it back.
            consent_store().record(user=user, client=application, audience=grant.audience, scopes=approved)
        else:
            grant.status = DeviceGrant.DENIED
        grant.save(update_fields=["user", "status", "scope", "last_checked"])
        record_event(
            actor=Actor.user(user),
            action="device.approve" if approved else "device.deny",
            target=grant,
            data={"client_id": grant.client_id, "audience": grant.audience, "scope": approved},
        )
    return grant


def device_grant_poll(*, device_code: str | None, client: Application) -> tuple[DeviceGrant | None, PollError | None]:
    """One poll of the token endpoint: the authorization to issue tokens for (used up), or the RFC 8628
    error to answer. Too fast a poll gets ``slow_down`` and a longer interval."""
    now = timezone.now()
    with transaction.atomic():
        # No join in the locking read: when it waits for the approval's lock, PostgreSQL re-checks
        # the grant's new row but keeps the joined rows it first read, so a user set by that very
        # approval would come back as None. The user is read once the grant is known authorized.
        grant = (
            DeviceGrant.objects.select_for_update()
            .filter(device_code=device_code or "", client_id=client.client_id)
            .first()
        )
        if grant is None:
            return None, PollError("invalid_grant", "The device code is not valid for this client.")
        if grant.status == DeviceGrant.EXPIRED or grant.expires <= now:
            grant.status = DeviceGrant.EXPIRED
            grant.save(update_fields=["status", "last_checked"])
            return None, PollError("expired_token", "The device code has expired or has been used.")
        if grant.status == DeviceGrant.DENIED:
            return None, PollError("access_denied", "The user declined the authorization request.")
        too_soon = grant.last_polled_at is not None and now - grant.last_polled_at < timedelta(seconds=grant.interval)
        grant.last_polled_at = now
        if too_soon:
            grant.interval += SLOW_DOWN_STEP
            grant.save(update_fields=["last_polled_at", "interval", "last_checked"])
            return None, PollError("slow_down", f"Polling too fast: wait {grant.interval} seconds between requests.")
        if grant.status == DeviceGrant.AUTHORIZATION_PENDING:
            grant.save(update_fields=["last_polled_at", "last_checked"])
            return None, PollError("authorization_pending", "The user has not yet completed the authorization.")
        # Authorized: tokens are issued once; the code is used up now.
        grant.status = DeviceGrant.EXPIRED
        grant.save(update_fields=["last_polled_at", "status", "last_checked"])
        grant.user = get_user_model().objects.select_related("connection").get(pk=grant.user_id)
    return grant, None
