"""Creating and deleting users of a database connection (the management API's /users)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.constants import ConnectionStrategy
from oauthcore.exceptions import ConflictError
from oauthcore.models import Connection
from oauthcore.services.tokens import tokens_revoke

USER_EXISTS = "The user already exists."


def user_create(*, actor: Actor, connection: Connection, email: str, username: str, password: str):
    """A user of ``connection`` (a database connection), with a password checked by Django's validators."""
    User = get_user_model()
    if connection.strategy != ConnectionStrategy.DATABASE:
        raise ValidationError({"connection": "Users can only be created in database connections."})
    user = User(username=username, email=email, connection=connection)
    validate_password(password, user=user)
    user.set_password(password)
    if User.objects.filter(connection=connection, email__iexact=email).exists():
        raise ConflictError(USER_EXISTS)
    if User.objects.filter(username=username).exists():
        raise ConflictError(USER_EXISTS)
    try:
        with transaction.atomic():
            user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
            user.save()
            record_event(
                actor=actor,
                action="user.create",
                target=user,
                data={"user_id": user.user_id, "connection": connection.name, "email": email},
            )
    except IntegrityError as exc:  # a concurrent request created the same user first
        raise ConflictError(USER_EXISTS) from exc
    return user


def user_delete(*, actor: Actor, user) -> None:
    """Delete the user after revoking every token they hold."""
    with transaction.atomic():
        tokens_revoke(actor=actor, user=user, reason="user deleted", target=user)
        record_event(
            actor=actor,
            action="user.delete",
            target=user,
            data={"user_id": user.user_id, "email": user.email, "username": user.get_username()},
        )
        user.delete()
