"""django-oauth-toolkit's token models, swapped into oauthcore so they can grow with the policy."""

from django.db import models
from django.db.models import Q
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractDeviceGrant,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)

AUDIENCE_HELP = "The API identifier the token is for; empty for /userinfo-only tokens."
ORGANIZATION_HELP = "The organization the user logged in to, if any: the token carries its org_id."


def organization_field():
    """The organization a user-delegated token was issued for (deleting it takes its tokens)."""
    return models.ForeignKey(
        "oauthcore.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=ORGANIZATION_HELP,
    )


AMR_HELP = 'How the user authenticated (RFC 8176 values, space-separated), e.g. "pwd otp mfa".'


def amr_field():
    """The authentication methods of the login a user-delegated grant came from: its tokens carry them."""
    return models.CharField(max_length=100, blank=True, default="", editable=False, help_text=AMR_HELP)


class AudienceFromResourceMixin:
    """``audience`` is ``resource`` (RFC 8707, one API per token here) as an indexed column,
    so revocation can find a token's API on every database."""

    def save(self, *args, **kwargs):
        self.audience = self.resource[0] if self.resource else ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "resource" in update_fields:
            kwargs["update_fields"] = {*update_fields, "audience"}
        super().save(*args, **kwargs)


class Grant(AudienceFromResourceMixin, AbstractGrant):
    """An authorization code."""

    audience = models.CharField(max_length=600, blank=True, default="", help_text=AUDIENCE_HELP)
    organization = organization_field()
    amr = amr_field()

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"
        verbose_name = "authorization code"
        indexes = [models.Index(fields=["expires"], name="grant_expires")]


class AccessToken(AudienceFromResourceMixin, AbstractAccessToken):
    audience = models.CharField(max_length=600, blank=True, default="", help_text=AUDIENCE_HELP)
    # Every token issued from one authorization code (and from the refresh tokens it led to)
    # shares this family with those refresh tokens, so that a replayed code revokes them all
    # (RFC 6749 §4.1.2). Empty for client credentials.
    token_family = models.UUIDField(null=True, blank=True, editable=False)
    organization = organization_field()

    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"
        indexes = [
            models.Index(fields=["expires"], name="at_expires"),
            models.Index(fields=["token_family"], name="at_token_family", condition=Q(token_family__isnull=False)),
            models.Index(fields=["application", "audience", "user"], name="at_application_audience_user"),
            # A member removed from an organization, or its third-party access blocked: its tokens go.
            models.Index(fields=["organization", "user"], name="at_organization_user"),
        ]


class RefreshToken(AudienceFromResourceMixin, AbstractRefreshToken):
    audience = models.CharField(max_length=600, blank=True, default="", help_text=AUDIENCE_HELP)
    organization = organization_field()
    amr = amr_field()

    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"
        indexes = [
            *AbstractRefreshToken.Meta.indexes,
            models.Index(fields=["application", "audience", "user"], name="rt_application_audience_user"),
            models.Index(fields=["organization", "user"], name="rt_organization_user"),
        ]


class IDToken(AbstractIDToken):
    class Meta(AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"
        indexes = [models.Index(fields=["expires"], name="idt_expires")]


class DeviceGrant(AbstractDeviceGrant):
    """A device authorization (RFC 8628), swapped in so it remembers the API it was asked for:
    DOT's own has no ``resource``, and the user must consent to a known API before the device polls."""

    audience = models.CharField(max_length=600, blank=True, default="", help_text=AUDIENCE_HELP)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractDeviceGrant.Meta):
        swappable = "OAUTH2_PROVIDER_DEVICE_GRANT_MODEL"
        verbose_name = "device authorization"
        constraints = [
            *AbstractDeviceGrant.Meta.constraints,
            models.UniqueConstraint(fields=["user_code"], name="devicegrant_unique_user_code"),
        ]
        indexes = [models.Index(fields=["expires"], name="devicegrant_expires")]
