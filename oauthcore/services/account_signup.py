"""Sign-up into a database connection from the login page.

The answer never says whether the address has an account: whatever happens, the page says "check
your email". An address already verified on an account of the connection makes no new account and
sends nothing; otherwise the new account is an address claim (``user_create``'s ``address_claim``:
unverified, it keeps nobody else from the address until one of them verifies it), and gets the
verification email and, when that template is enabled, the welcome email.
"""

import re
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from oauthcore.audit import Actor, record_event
from oauthcore.database_connection import signup_allowed, validate_connection_password
from oauthcore.exceptions import ConflictError
from oauthcore.models import EmailTemplateName
from oauthcore.services.account_links import account_email_send, verification_email_send
from oauthcore.services.users import user_create

SIGN_UP_ACTOR = Actor.system("end user sign-up")
SIGNUP_DISABLED = "Sign-up is not open here."


def _username_for(email: str) -> str:
    """A username of its own: never the address itself, which another (unverified) claim may share,
    and a username equal to an address would keep that address from every later account. The user
    logs in with the address (``UsernameOrEmailBackend``)."""
    local = re.sub(r"[^\w.+-]", "", email.split("@", 1)[0])[:100] or "user"
    return f"{local}-{secrets.token_hex(4)}"


def account_sign_up(*, connection, email: str, password: str, application=None, next_url: str = ""):
    """The new user, or None when the address is already verified on an account (nothing is sent).
    ``ValidationError`` for a password the connection's policy refuses or a closed sign-up."""
    if not signup_allowed(connection):
        raise ValidationError(SIGNUP_DISABLED)
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    probe = User(username=email, email=email, connection=connection)
    # Every check on the password before any lookup of the address: the answer must not depend on it.
    validate_connection_password(password, user=probe, connection=connection)
    with transaction.atomic():
        if User.objects.filter(connection=connection, email__iexact=email, email_verified=True).exists():
            record_event(
                actor=SIGN_UP_ACTOR,
                action="user.sign_up_refused",
                reason="address already verified on an account",
                data={"connection": connection.name, "email": email},
            )
            return None
        try:
            user = user_create(
                actor=SIGN_UP_ACTOR,
                connection=connection,
                email=email,
                username=_username_for(email),
                password=password,
                address_claim=True,
            )
        except (ConflictError, ValidationError):  # checked after the lookup: answered as neutrally
            record_event(
                actor=SIGN_UP_ACTOR,
                action="user.sign_up_refused",
                reason="the name is taken",
                data={"connection": connection.name, "email": email},
            )
            return None
        verification_email_send(actor=SIGN_UP_ACTOR, user=user, application=application, next_url=next_url)
        account_email_send(template=EmailTemplateName.WELCOME_EMAIL, user=user, application=application)
    return user
