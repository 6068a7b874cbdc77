"""What each user has consented to: one UserGrant per (user, application, API)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from oauthcore.credentials import random_hex_id


class UserGrant(models.Model):
    """Shown as Auth0 "grants" by the management API (``clientID`` in camelCase on the wire)."""

    id = models.CharField(primary_key=True, max_length=24, default=random_hex_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="user_grants")
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="user_grants"
    )
    audience = models.CharField(max_length=600)
    # Consent given while logging in to an organization covers that organization only.
    organization = models.ForeignKey(
        "oauthcore.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="user_grants"
    )
    scope = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user consent"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client", "audience"],
                condition=models.Q(organization__isnull=True),
                name="usergrant_one_per_user_client_audience",
                violation_error_message="This user already has a consent for this application and API.",
            ),
            models.UniqueConstraint(
                fields=["user", "client", "audience", "organization"],
                condition=models.Q(organization__isnull=False),
                name="usergrant_one_per_organization",
                violation_error_message="This user already has a consent for this application, API and organization.",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "audience"], name="usergrant_client_audience"),
            # Deleting an API takes back its consents (consent.services.user_grants_forget_api).
            models.Index(fields=["audience"], name="usergrant_audience"),
        ]

    def __str__(self):
        return f"{self.user} → {self.client.name} @ {self.audience}"

    def clean(self):
        if not isinstance(self.scope, list) or not all(isinstance(s, str) for s in self.scope):
            raise ValidationError({"scope": "scope must be a list of scope values."})
