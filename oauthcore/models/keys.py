"""Signing keys for access and ID tokens. Private keys are stored encrypted."""

from django.db import models


class SigningKey(models.Model):
    """An RS256 key. The newest key that is not retired signs; retired keys stay published
    (in the JWKS) until every token they signed has expired."""

    kid = models.CharField(primary_key=True, max_length=64, editable=False, help_text="The JWK thumbprint.")
    encrypted_private_key = models.TextField(editable=False)
    public_jwk = models.JSONField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    retired_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        state = "retired" if self.retired_at else "active"
        return f"{self.kid} ({state})"
