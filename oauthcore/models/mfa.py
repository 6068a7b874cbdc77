"""A user's second factors: an authenticator app (TOTP), passkeys (WebAuthn) and recovery codes."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AuthenticatorKind(models.TextChoices):
    TOTP = "totp", "Authenticator app"
    WEBAUTHN = "webauthn", "Passkey"


class Authenticator(models.Model):
    """One second factor of a user. A TOTP authenticator counts only once confirmed (the user typed
    a code it made): until then it is an enrollment in progress, replaced by the next one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authenticators")
    kind = models.CharField(max_length=16, choices=AuthenticatorKind.choices)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # TOTP: the base32 secret, sealed (oauthcore.sealed); the last time step accepted, so a code is
    # never accepted twice.
    sealed_secret = models.TextField(blank=True, editable=False)
    last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    # WebAuthn: the credential's id (base64url), its COSE public key and signature counter.
    credential_id = models.CharField(max_length=1400, blank=True, editable=False)
    public_key = models.BinaryField(blank=True, editable=False)
    sign_count = models.BigIntegerField(default=0, editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(kind="totp"), name="authenticator_one_totp"),
            models.UniqueConstraint(
                fields=["credential_id"], condition=~Q(credential_id=""), name="authenticator_unique_credential"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A code to sign in with once when the other factors are out of reach. Only its SHA-256 is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self):
        return f"Recovery code of {self.user}"
