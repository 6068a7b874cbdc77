"""End users and staff. Every user belongs to exactly one connection."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
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
        max_length=400,
        unique=True,
        default=random_hex_id,
        editable=False,
        help_text=(
            "The public part of user_id (auth0|…); for a user of an enterprise connection "
            "{connection}|{the provider's id}. Never the database key."
        ),
    )
    connection = models.ForeignKey("oauthcore.Connection", on_delete=models.PROTECT, related_name="users")
    # The ID token's and /userinfo's email_verified. Only proof sets it: a confirmed sign-up link, an
    # accepted invitation, an admin or the management API. Until then the address is a claim that
    # other accounts may make too; one account at most holds it verified.
    email_verified = models.BooleanField(
        default=False, help_text="The user proved they receive mail at this address (or an admin vouches for it)."
    )

    # For a user of an enterprise connection: the profile their identity provider sent at the last
    # sign-in, mapped to Auth0's names (name, nickname, picture...); email and names also fill the
    # columns above.
    federated_profile = models.JSONField(default=dict, blank=True, editable=False)

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "connection",
                condition=~Q(email="") & Q(email_verified=True),
                name="user_unique_verified_email_per_connection",
                violation_error_message="Another user of this connection already has this email verified.",
            ),
        ]

    @property
    def user_id(self) -> str:
        """The id the management API and tokens show (``sub``), in Auth0's ``strategy|id`` shape."""
        return self.format_user_id(self.connection.strategy, self.uid)

    @staticmethod
    def format_user_id(strategy: str, uid: str) -> str:
        return f"{strategy}|{uid}"

    def validate_unique(self, exclude=None):
        super().validate_unique(exclude=exclude)
        # The database refuses only a second verified address; a new account made in the admin must
        # not share one at all (the portal's sign-up claims are made by a service instead).
        adding = self._state.adding and self.email and "email" not in (exclude or ())
        if adding and self.connection_id is not None and self._email_in_use():
            raise ValidationError({"email": "A user with this email already exists in this connection."})

    def _email_in_use(self) -> bool:
        return type(self)._default_manager.filter(connection=self.connection_id, email__iexact=self.email).exists()

    def clean(self):
        super().clean()
        errors = self.name_conflicts(username=self.username, email=self.email, pk=self.pk)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def name_conflicts(cls, *, username: str, email: str, pk=None) -> dict[str, str]:
        """Why ``username`` and ``email`` would let one account shadow another's login, by field.

        Login takes a username or an email (``UsernameOrEmailBackend``): a username that is someone
        else's address would answer to that address. So ``@`` is for the account's own address only,
        and no username may equal another account's email (nor an email another's username).
        """
        errors = {}
        others = cls._default_manager.exclude(pk=pk) if pk is not None else cls._default_manager.all()
        if "@" in username and username.lower() != (email or "").lower():
            errors["username"] = "A username may contain @ only when it is the account's own email address."
        elif "@" in username and others.filter(email__iexact=username).exists():
            errors["username"] = "This username is another account's email address."
        if email and others.filter(username__iexact=email).exists():
            errors["email"] = "This email address is another account's username."
        return errors

    def save(self, *args, **kwargs):
        if self.connection_id is None:
            from oauthcore.models.connections import Connection

            self.connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
        self.check_immutable_fields(kwargs.get("update_fields"))
        super().save(*args, **kwargs)
