"""One-time links an end user gets by email: to verify their address, or to choose a new password.

The link carries a random token; only its SHA-256 digest is stored (``link_token_digest``), so the
table holds no working link and a guessed token finds nothing. A link works once, until
``expires_at``, and only while what it was issued for still holds: a verification link for the
address the user had then (``email``), a reset link for the password they had then
(``password_stamp``, a keyed digest of the password hash, so any change of password voids it).
An email change link carries the new address (``email``, not the user's until the link is used)
and the password stamp: the account keeps its old address until the new one is proven.
``application`` is the app whose sign-in started the flow (it decides where the flow may end,
see ``oauthcore.account_flows``); ``result_url`` is where a management API ticket sends the user.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AccountLinkPurpose(models.TextChoices):
    VERIFY_EMAIL = "verify_email", "Email verification"
    RESET_PASSWORD = "reset_password", "Password reset"
    CHANGE_EMAIL = "change_email", "Email change"


class AccountLink(models.Model):
    purpose = models.CharField(max_length=20, choices=AccountLinkPurpose.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_links")
    application = models.ForeignKey(
        "oauthcore.Application", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    email = models.CharField(
        max_length=254,
        blank=True,
        help_text="The user's address when the link was issued (the new one, for an email change).",
    )
    password_stamp = models.CharField(max_length=64, blank=True, editable=False)
    result_url = models.URLField(max_length=2000, blank=True)
    # The /authorize request the user was on when the flow started (continued at the end when the
    # app allows redirection).
    next_url = models.CharField(max_length=4000, blank=True)
    mark_email_verified = models.BooleanField(default=False)
    # A management API ticket's includeEmailInRedirect: the result URL gets the user's address.
    include_email_in_redirect = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "purpose"], name="account_link_user_purpose")]

    def __str__(self):
        return f"{self.get_purpose_display()} for {self.user_id}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
