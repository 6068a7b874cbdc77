"""Tenant-wide settings: one row."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from oauthcore.constants import MfaPolicy

SINGLETON_ID = 1


class TenantSettings(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    friendly_name = models.CharField(max_length=255, default="Portcullis")
    support_email = models.EmailField(blank=True)
    enable_dynamic_client_registration = models.BooleanField(
        default=False, help_text="Open registration at /oidc/register (RFC 7591): strict third-party apps."
    )
    enable_client_id_metadata_documents = models.BooleanField(
        default=False,
        help_text="Accept an https URL as client_id: the app metadata it serves (client ID metadata documents).",
    )
    default_audience = models.CharField(
        max_length=600, blank=True, help_text="The API used when a token request names none."
    )
    allow_organization_name_in_authentication_api = models.BooleanField(
        default=False,
        help_text="Tokens of an organization carry its name (org_name) besides its id (org_id), and "
        "requests may name an organization by its name.",
    )
    require_partner_approval = models.BooleanField(
        default=False, help_text="New partners wait for a tenant admin's approval."
    )
    mfa_policy = models.CharField(
        max_length=16,
        choices=MfaPolicy.choices,
        default=MfaPolicy.OPTIONAL,
        help_text="When the login page asks for a second factor (an authenticator app, a passkey or a recovery code).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "tenant settings"
        verbose_name_plural = "tenant settings"
        constraints = [models.CheckConstraint(name="tenant_settings_singleton", condition=Q(id=SINGLETON_ID))]

    def __str__(self):
        return "Tenant settings"

    @classmethod
    def load(cls) -> "TenantSettings":
        return cls.objects.get_or_create(id=SINGLETON_ID)[0]

    def clean(self):
        from oauthcore.models.resource_servers import ResourceServer

        if self.default_audience and not ResourceServer.objects.filter(identifier=self.default_audience).exists():
            raise ValidationError({"default_audience": f"Service not found: {self.default_audience}"})
