"""What withdraws access tokens that are not stored: client-credentials tokens are signed JWTs that
no table holds (``oauthcore.client_tokens``), so what stops one before its expiry is written here.
"""

from django.db import models


class RevokedAccessToken(models.Model):
    """A client-credentials access token its client revoked (RFC 7009), by its ``jti``. Kept until
    the token would have expired anyway (``expires``), then cleared with the expired tokens."""

    jti = models.CharField(max_length=64, primary_key=True)
    client_id = models.CharField(max_length=100)
    expires = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "revoked access token"

    def __str__(self):
        return self.jti


class AccessCutoff(models.Model):
    """A "not before" stamp: every client-credentials token of ``client_id`` ("" for every client)
    for the API ``audience`` ("" for every API) issued before ``not_before_ms`` is withdrawn.

    Written when what a token stands on is taken away: its client grant deleted or narrowed, its
    application deleted or suspended, its API deleted. Milliseconds since the epoch, compared with
    the millisecond a token's ``jti`` carries: a token issued just after the stamp is good. Plain
    values, not foreign keys: the stamp must outlive a deleted app or API (a new one may take its
    identifier) until every token it withdraws has expired."""

    client_id = models.CharField(max_length=100, blank=True)
    audience = models.CharField("API identifier", max_length=600, blank=True)
    not_before_ms = models.BigIntegerField()

    class Meta:
        verbose_name = "access token cutoff"
        constraints = [
            # One stamp per client and API, moved forward in place; its index serves the check.
            models.UniqueConstraint(fields=["client_id", "audience"], name="access_cutoff_one_per_key"),
        ]

    def __str__(self):
        return f"{self.client_id or 'every client'} → {self.audience or 'every API'}"
