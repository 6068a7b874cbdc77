"""Log in with a username or an email address, case-insensitively for the email, within the
sign-in rate limits (``oauthcore.signin``)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from oauthcore import signin
from oauthcore.constants import ConnectionStrategy


class UsernameOrEmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        User = get_user_model()
        # Only the database connection's users have passwords: a user of an enterprise connection
        # signs in at their identity provider, and an address never reaches another connection's user.
        # Unverified sign-ups may share an address (``user_create``'s ``address_claim``): the address
        # logs in to the account that proved it, else to the oldest claim (the others use their username).
        user = (
            User._default_manager.filter(Q(username=username) | Q(email__iexact=username))
            .filter(connection__strategy=ConnectionStrategy.DATABASE)
            .order_by("-email_verified", "id")
            .first()
        )
        if request is not None and not signin.admit(request, username, user):
            return None  # rate-limited or locked out: the password is not even checked
        if user is None:
            # Spend the same time as a real check, so the response does not reveal who exists.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user of each request, with the connection /authorize checks: one statement."""
        User = get_user_model()
        user = User._default_manager.select_related("connection").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
