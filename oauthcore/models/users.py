"""End users and staff. Every user belongs to exactly one connection."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.credentials import random_hex_id
from oauthcore.models.immutable import ImmutableFieldsMixin


class User(ImmutableFieldsMixin, AbstractUser):
    # Both make up user_id, the ``sub`` of every token the user ever got.
    immutable_fields = ("uid", "connection")

    uid = models.CharField(
        "user id",
        max_length=24,
        unique=True,
        default=random_hex_id,
        editable=False,
        help_text="The public part of user_id (auth0|…); never the database key.",
    )
    connection = models.ForeignKey("oauthcore.Connection", on_delete=models.PROTECT, related_name="users")

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "connection",
                condition=~Q(email=""),
                name="user_unique_email_per_connection",
                violation_error_message="A user with this email already exists in this connection.",
            ),
        ]

    @property
    def user_id(self) -> str:
        """The id the management API and tokens show (``sub``), in Auth0's ``strategy|id`` shape."""
        return self.format_user_id(self.connection.strategy, self.uid)

    @staticmethod
    def format_user_id(strategy: str, uid: str) -> str:
        return f"{strategy}|{uid}"

    def save(self, *args, **kwargs):
        if self.connection_id is None:
            from oauthcore.models.connections import Connection

            self.connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
        self.check_immutable_fields(kwargs.get("update_fields"))
        super().save(*args, **kwargs)
