"""What the management API changes on an end user's account in one call (``PATCH /api/v2/users/{id}``),
and the tickets it hands out (``POST /api/v2/tickets/...``): one-time links returned to the caller
instead of emailed.

Blocking is a deactivation (``user_update`` with ``is_active`` off runs ``user_deactivate``: tokens
and consents revoked, sessions ended, and the ``blocked_account`` email queued when that template is
enabled). A new password goes through the connection's policy and ``user_password_set`` (sessions
signed out, refresh tokens revoked).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor
from oauthcore.database_connection import validate_connection_password
from oauthcore.exceptions import ConflictError
from oauthcore.models import AccountLinkPurpose
from oauthcore.services.account_links import (
    IssuedAccountLink,
    account_link_issue,
    verification_email_send,
)
from oauthcore.services.users import user_password_set, user_update

VERIFIED_ELSEWHERE = "Another user of this connection already has this email verified."


def user_account_update(
    *,
    actor: Actor,
    user,
    blocked: bool | None = None,
    email: str | None = None,
    email_verified: bool | None = None,
    verify_email: bool = False,
    password: str | None = None,
):
    """Apply the fields given (None: unchanged), all or none. ``verify_email`` sends the verification
    email to the (new) address; a second verified holder of an address is a ``ConflictError``."""
    fields = {}
    if email is not None:
        fields["email"] = email
    if email_verified is not None:
        fields["email_verified"] = email_verified
    if blocked is not None:
        fields["is_active"] = not blocked
    if password is not None:
        validate_connection_password(password, user=user, connection=user.connection)
    try:
        with transaction.atomic():
            if fields:
                user_update(actor=actor, user=user, **fields)
            if password is not None:
                user_password_set(actor=actor, user=user, password=password, reason="password set by an admin")
            if verify_email and not user.email_verified:
                verification_email_send(actor=actor, user=user)
    except IntegrityError as exc:
        raise ConflictError(VERIFIED_ELSEWHERE) from exc
    except ValidationError as exc:
        if VERIFIED_ELSEWHERE in " ".join(exc.messages):
            raise ConflictError(VERIFIED_ELSEWHERE) from exc
        raise
    user.refresh_from_db()
    return user


def ticket_issue(
    *,
    actor: Actor,
    user,
    purpose: str,
    application=None,
    result_url: str = "",
    ttl_seconds: int | None = None,
    mark_email_verified: bool = False,
    include_email_in_redirect: bool = False,
) -> IssuedAccountLink:
    """A verification or password-change link for the caller to pass on (nothing is emailed)."""
    if purpose == AccountLinkPurpose.VERIFY_EMAIL and not user.email:
        raise ValidationError({"user_id": "The user has no email address to verify."})
    return account_link_issue(
        actor=actor,
        user=user,
        purpose=purpose,
        application=application,
        result_url=result_url,
        ttl_seconds=ttl_seconds or None,
        mark_email_verified=mark_email_verified,
        include_email_in_redirect=include_email_in_redirect,
    )
