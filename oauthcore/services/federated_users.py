"""Users of enterprise connections, created just in time and updated at each sign-in.

A person who signs in at a customer's identity provider becomes (or is again) the user
``{strategy}|{connection name}|{their id there}``: the provider's stable subject, never their email.
The same address arriving through two connections gives two users; nothing is linked by email.
"""

import hashlib

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from oauthcore.audit import Actor, record_event
from oauthcore.federation.base import FederatedProfile
from oauthcore.models import Connection

# What the provider's profile fills in the user's own columns (the rest stays in federated_profile).
COLUMNS = {"email": "email", "given_name": "first_name", "family_name": "last_name"}
MAX_SUBJECT_LENGTH = 255


def federated_uid(connection: Connection, subject: str) -> str:
    """The public part of the user's id: ``user_id`` is ``{strategy}|{this}``."""
    return f"{connection.name}|{subject}"


def federated_username(connection: Connection, subject: str) -> str:
    """A username no one can type at the password form (it is not an email, and these users have no
    password), unique per (connection, subject) and short enough for Django's 150 characters."""
    digest = hashlib.sha256(f"{connection.pk}|{subject}".encode()).hexdigest()[:24]
    return f"{connection.strategy}|{connection.pk}|{digest}"


def _columns(profile: FederatedProfile) -> dict:
    User = get_user_model()
    values = {}
    for attribute, column in COLUMNS.items():
        value = profile.attributes.get(attribute)
        if isinstance(value, str):
            values[column] = value.strip()[: User._meta.get_field(column).max_length]
    # Only the provider's explicit word makes the address verified (an OpenID Connect
    # email_verified of true, or a SAML attribute mapped to it that says so).
    values["email_verified"] = profile.attributes.get("email_verified") in (True, "true", "True", "1")
    return values


def _verified_elsewhere(user, connection: Connection, email: str) -> bool:
    """Another user of this connection holds the address verified (one at most may: the constraint)."""
    others = get_user_model()._default_manager.filter(connection=connection, email__iexact=email, email_verified=True)
    return others.exclude(pk=user.pk).exists() if user.pk else others.exists()


def federated_user_sign_in(*, connection: Connection, profile: FederatedProfile):
    """The user ``profile`` names in ``connection``, created on their first sign-in and brought up
    to date with the provider's profile on every later one; audited in the same transaction."""
    if not profile.subject or len(profile.subject) > MAX_SUBJECT_LENGTH:
        raise ValueError("An identity provider's subject must be 1 to 255 characters.")
    User = get_user_model()
    uid = federated_uid(connection, profile.subject)
    columns = _columns(profile)
    try:
        with transaction.atomic():
            user = User._default_manager.select_for_update().filter(uid=uid).first()
            created = user is None
            if created:
                user = User(uid=uid, connection=connection, username=federated_username(connection, profile.subject))
                user.set_unusable_password()
            if columns.get("email_verified") and _verified_elsewhere(user, connection, columns.get("email", "")):
                columns["email_verified"] = False
            changed = sorted(column for column, value in columns.items() if getattr(user, column) != value)
            for column, value in columns.items():
                setattr(user, column, value)
            profile_changed = user.federated_profile != profile.attributes
            user.federated_profile = dict(profile.attributes)
            user.save()
            if created:
                record_event(
                    actor=Actor.system("federation"),
                    action="user.create",
                    target=user,
                    reason=f"First sign-in through the {connection.strategy} connection {connection.name}.",
                    data={"user_id": user.user_id, "connection": connection.name, "email": user.email},
                )
            elif changed or profile_changed:
                record_event(
                    actor=Actor.system("federation"),
                    action="user.update",
                    target=user,
                    reason=f"Profile updated by the identity provider of {connection.name}.",
                    data={"fields": changed + (["federated_profile"] if profile_changed else [])},
                )
    except IntegrityError:  # the same person's first sign-in in two tabs at once: the other one won
        user = User._default_manager.get(uid=uid)
    return user
