"""Resource servers (APIs), their scopes, and who may reach them."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from oauthcore.constants import (
    DEFAULT_TOKEN_LIFETIME,
    MAX_TOKEN_LIFETIME,
    ClientPolicy,
    UserPolicy,
)
from oauthcore.credentials import random_hex_id
from oauthcore.models.immutable import ImmutableFieldsMixin
from oauthcore.validation import resource_server_identifier_error, scope_value_error


class ResourceServer(ImmutableFieldsMixin, models.Model):
    """An API. ``identifier`` is the audience of its tokens: unique, and fixed at creation."""

    immutable_fields = ("identifier", "is_system", "signing_alg")

    id = models.CharField(primary_key=True, max_length=24, default=random_hex_id, editable=False)
    identifier = models.CharField(max_length=600, unique=True, help_text="The audience: an absolute URL.")
    name = models.CharField(max_length=200)
    is_system = models.BooleanField(default=False, editable=False)
    signing_alg = models.CharField(max_length=5, choices=[("RS256", "RS256")], default="RS256")
    token_lifetime = models.PositiveIntegerField(
        default=DEFAULT_TOKEN_LIFETIME,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TOKEN_LIFETIME)],
        help_text="Access token lifetime in seconds.",
    )
    allow_offline_access = models.BooleanField(default=False, help_text="Whether refresh tokens can be issued.")
    skip_consent_for_verifiable_first_party_clients = models.BooleanField(default=False)
    user_policy = models.CharField(
        "user-delegated access", max_length=24, choices=UserPolicy.choices, default=UserPolicy.ALLOW_ALL
    )
    client_policy = models.CharField(
        "client access", max_length=24, choices=ClientPolicy.choices, default=ClientPolicy.REQUIRE_CLIENT_GRANT
    )
    client = models.OneToOneField(
        "oauthcore.Application",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_resource_server",
        help_text="The API's own confidential client: the one that may introspect its tokens.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API"
        verbose_name_plural = "APIs"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(name="rs_user_policy_valid", condition=Q(user_policy__in=UserPolicy.values)),
            models.CheckConstraint(name="rs_client_policy_valid", condition=Q(client_policy__in=ClientPolicy.values)),
            models.CheckConstraint(
                name="rs_token_lifetime_range",
                condition=Q(token_lifetime__gte=1, token_lifetime__lte=MAX_TOKEN_LIFETIME),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.identifier})"

    @property
    def subject_type_authorization(self) -> dict:
        return {"user": {"policy": self.user_policy}, "client": {"policy": self.client_policy}}

    def clean(self):
        errors: dict[str, list[str]] = {}
        for field, message in self.immutable_field_errors().items():
            errors.setdefault(field, []).append(message)
        if message := resource_server_identifier_error(self.identifier):
            errors.setdefault("identifier", []).append(message)
        if "<" in self.name or ">" in self.name:
            errors.setdefault("name", []).append("The name cannot contain < or >.")
        if self.client_id is not None and self.client and not self.client.is_confidential:
            errors.setdefault("client", []).append("The linked client must be confidential.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.check_immutable_fields()
        super().save(*args, **kwargs)


class ResourceServerScope(models.Model):
    resource_server = models.ForeignKey(ResourceServer, on_delete=models.CASCADE, related_name="scopes")
    value = models.CharField(max_length=280)
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "scope"
        ordering = ["value"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource_server", "value"],
                name="rs_scope_unique_value",
                violation_error_message="This API already has a scope with this value.",
            ),
            models.CheckConstraint(name="rs_scope_value_not_empty", condition=~Q(value="")),
        ]

    def __str__(self):
        return self.value

    def clean(self):
        if message := scope_value_error(self.value):
            raise ValidationError({"value": message})
