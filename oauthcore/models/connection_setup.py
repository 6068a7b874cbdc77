"""A one-time link a tenant admin gives a customer's IT admin to set up their own enterprise connection.

The link carries a random token; only its SHA-256 digest is stored, so the table holds no working
link and a guessed token finds nothing. Whoever holds it may, until ``expires_at``: enter their
identity provider's details (the connection is created disabled), test a sign-in through it, and
activate it once a test succeeded (``used_at``: the link is used up). The tenant decides beforehand
whether the connection may become domain level, which opens it to every third-party app.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from oauthcore.constants import ConnectionStrategy


class ConnectionSetupLink(models.Model):
    strategy = models.CharField(
        max_length=20,
        choices=[(ConnectionStrategy.OIDC.value, "OpenID Connect"), (ConnectionStrategy.SAML.value, "SAML 2.0")],
    )
    connection_name = models.CharField(
        "suggested connection name", max_length=128, help_text="The connection's name once set up (fixed)."
    )
    customer_label = models.CharField(
        "customer", max_length=128, help_text="Who the link is for, as your team calls them (shown on their page)."
    )
    may_be_domain_level = models.BooleanField(
        "may become domain level",
        default=False,
        help_text="On activation the connection becomes domain level: open to every third-party app.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    # The last successful test sign-in through the connection as it is now (cleared when its details change).
    tested_at = models.DateTimeField(null=True, blank=True)
    # The email domains asked for: they go to the connection (and home-realm discovery) on activation.
    domain_aliases = models.JSONField(default=list, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    connection = models.OneToOneField(
        "oauthcore.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="setup_link"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.customer_label} ({self.connection_name})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.used_at is not None:
            return "activated"
        if self.is_expired:
            return "expired"
        if self.tested_at is not None:
            return "tested"
        if self.connection_id is not None:
            return "details saved"
        return "opened" if self.opened_at is not None else "not opened yet"
