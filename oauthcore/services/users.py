"""Creating, changing, deactivating and deleting users (the management API's /users, the admin's user pages)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauthcore.account_emails import account_email_send
from oauthcore.audit import Actor, record_event
from oauthcore.consents import consent_store
from oauthcore.constants import ConnectionStrategy
from oauthcore.database_connection import validate_connection_password
from oauthcore.exceptions import ConflictError
from oauthcore.models import AccountLink, AccountLinkPurpose, Connection, EmailTemplateName
from oauthcore.services.base import save_audited
from oauthcore.services.tokens import tokens_revoke

USER_EXISTS = "The user already exists."
UPDATABLE_FIELDS = frozenset(
    {
        "username",
        "email",
        "email_verified",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
    }
)
MANY_TO_MANY_FIELDS = ("groups", "user_permissions")


def user_create(
    *,
    actor: Actor,
    connection: Connection,
    email: str,
    username: str,
    password: str,
    email_verified: bool = False,
    address_claim: bool = False,
):
    """A user of ``connection`` (a database connection), with a password checked by its password policy.

    ``email_verified`` says the caller has proof of the address (an invitation accepted, an admin's
    word). ``address_claim`` is for self-service sign-ups: an address belongs to nobody until it is
    verified, so the account may share it with unverified ones; whichever is verified first keeps it
    (the database refuses a second verified one). Otherwise an address in use is a conflict.
    """
    User = get_user_model()
    if connection.strategy != ConnectionStrategy.DATABASE:
        raise ValidationError({"connection": "Users can only be created in database connections."})
    user = User(username=username, email=email, connection=connection, email_verified=email_verified)
    validate_connection_password(password, user=user, connection=connection)
    user.set_password(password)
    if not address_claim and User.objects.filter(connection=connection, email__iexact=email).exists():
        raise ConflictError(USER_EXISTS)
    if User.objects.filter(username=username).exists():
        raise ConflictError(USER_EXISTS)
    try:
        with transaction.atomic():
            save_audited(
                user,
                actor=actor,
                action="user.create",
                data={
                    "user_id": user.user_id,
                    "connection": connection.name,
                    "email": email,
                    "email_verified": email_verified,
                },
                exclude=["password"],
                validate_unique=False,
                validate_constraints=False,
            )
    except IntegrityError as exc:  # a concurrent request created the same user first
        raise ConflictError(USER_EXISTS) from exc
    return user


def user_delete(*, actor: Actor, user) -> None:
    """Delete the user after taking back every consent they gave (each audited by the consent store)
    and revoking every token they hold, in one transaction: nothing of theirs outlives the account,
    and the audit log says what went with it."""
    with transaction.atomic():
        consent_store().revoke_all(actor=actor, user=user)
        account_email_send(template=EmailTemplateName.BLOCKED_ACCOUNT, user=user)
        tokens_revoke(actor=actor, user=user, reason="user deleted", target=user)
        record_event(
            actor=actor,
            action="user.delete",
            target=user,
            data={"user_id": user.user_id, "email": user.email, "username": user.get_username()},
        )
        user.delete()


def user_update(*, actor: Actor, user, changes=None, **fields):
    """Change a user's profile, status or privileges (``groups`` and ``user_permissions`` included).

    Turning ``is_active`` off is a deactivation: ``user_deactivate`` runs in the same transaction.
    A new ``email`` is unverified unless ``email_verified`` comes with it: proof of the old address
    says nothing about the new one.
    ``changes`` describes the edit for readers of the audit log (the admin passes its change message,
    which names fields, never values).
    """
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"user_update got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        was_active, old_email = type(user).objects.select_for_update().values_list("is_active", "email").get(pk=user.pk)
        email_changes = "email" in fields and fields["email"].lower() != old_email.lower()
        if email_changes and "email_verified" not in fields:
            fields["email_verified"] = False
        if email_changes:
            # A change the user asked for from the old address must not overwrite this one (an admin
            # taking a hijacked account back): its pending link stops working. A link to this very
            # address is left alone: it is the one making this change, or would make the same one.
            AccountLink.objects.filter(
                user=user, purpose=AccountLinkPurpose.CHANGE_EMAIL, used_at__isnull=True
            ).exclude(email__iexact=fields["email"]).update(expires_at=timezone.now())
        related = {name: fields[name] for name in MANY_TO_MANY_FIELDS if name in fields}
        scalar = {name: value for name, value in fields.items() if name not in related}
        data = {"fields": sorted(fields)} | ({"changes": changes} if changes is not None else {})
        for name, value in scalar.items():
            setattr(user, name, value)
        save_audited(user, actor=actor, action="user.update", data=data, update_fields=sorted(scalar))
        for name, value in related.items():
            getattr(user, name).set(value)
        if was_active and not user.is_active:
            user_deactivate(actor=actor, user=user)
    return user


LOCAL_CREDENTIALS_ONLY = "Only users of a database connection have a password here."


def user_password_set(*, actor: Actor, user, password: str, reason: str = "password changed") -> None:
    """Give ``user`` a new password (checked by the password policy of their connection), and end
    every way in the old one opened.

    Sessions: the session's auth hash derives from the password hash, so every session the user had
    fails its next request (a caller that keeps the current one calls ``update_session_auth_hash``).
    Tokens: the user's refresh tokens are revoked and their stored access tokens deleted (introspection
    answers inactive), as a password reset after a takeover must leave the attacker nothing.
    """
    if user.connection.strategy != ConnectionStrategy.DATABASE:
        raise ValidationError({"password": LOCAL_CREDENTIALS_ONLY})
    validate_connection_password(password, user=user, connection=user.connection)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        user_password_changed(actor=actor, user=user, reason=reason)


def user_password_changed(*, actor: Actor, user, reason: str = "password changed") -> None:
    """What follows a new password however it was saved (here, or by the admin's password form, which
    saves it itself): the audit row, and the user's tokens revoked in the same transaction."""
    with transaction.atomic():
        record_event(
            actor=actor, action="user.password_change", target=user, reason=reason, data={"user_id": user.user_id}
        )
        tokens_revoke(actor=actor, user=user, reason=reason, target=user)


def user_deactivate(*, actor: Actor, user) -> None:
    """Deactivate ``user`` and end every way they still had in.

    Their sessions: the authentication backend's ``get_user`` refuses an inactive user, so each
    session ends at its next request (without scanning the session store for theirs). Their tokens:
    revoked here, as when the user is deleted (refresh tokens fail at /oauth/token, access tokens
    introspect inactive). Their consents: revoked by the consent store (``oauthcore.consents``, the
    consent app's by default), with its own audit entries, inside this transaction.
    And the user hears of it: the ``blocked_account`` email, when that template is enabled, queued
    here so that every way of blocking (the admin's checkbox, the management API's ``blocked``)
    sends it, once the block commits.
    """
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        record_event(actor=actor, action="user.deactivate", target=user, data={"user_id": user.user_id})
        tokens_revoke(actor=actor, user=user, reason="user deactivated", target=user)
        consent_store().revoke_all(actor=actor, user=user)
        account_email_send(template=EmailTemplateName.BLOCKED_ACCOUNT, user=user)
