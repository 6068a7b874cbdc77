"""Client grants: which app may reach which API, for which subject type, with which scopes."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from oauthcore.conf import portcullis_settings
from oauthcore.constants import DefaultFor, OrganizationUsage, SubjectType
from oauthcore.credentials import new_client_grant_id
from oauthcore.models.immutable import ImmutableFieldsMixin

SYSTEM_API_USER_GRANT_ERROR = (
    "The Management API accepts only client-credentials tokens: "
    "grant the application itself (subject type client), not its users."
)


def takes_user_grants(resource_server) -> bool:
    """Whether a system API may be reached on a user's behalf: the My Organization API, the My Account
    API and the MFA API, whose every call is held to the signed-in user's own organization or account."""
    return resource_server.identifier in portcullis_settings.user_delegated_system_api_identifiers


class ClientGrant(ImmutableFieldsMixin, models.Model):
    """Either one app's grant (``client``) or the default for every third-party app (``default_for``)."""

    immutable_fields = ("client", "default_for", "resource_server", "subject_type")

    id = models.CharField(primary_key=True, max_length=20, default=new_client_grant_id, editable=False)
    client = models.ForeignKey(
        "oauthcore.Application", null=True, blank=True, on_delete=models.CASCADE, related_name="client_grants"
    )
    default_for = models.CharField(
        max_length=20,
        choices=DefaultFor.choices,
        null=True,
        blank=True,
        help_text="Leave the client empty and pick this for default permissions of third-party apps.",
    )
    resource_server = models.ForeignKey(
        "oauthcore.ResourceServer",
        to_field="identifier",
        db_column="audience",
        on_delete=models.CASCADE,
        related_name="client_grants",
        verbose_name="audience",
    )
    scope = models.JSONField(default=list, blank=True)
    allow_all_scopes = models.BooleanField(default=False, help_text="All the API's scopes, present and future.")
    subject_type = models.CharField(max_length=6, choices=SubjectType.choices, default=SubjectType.CLIENT)
    organization_usage = models.CharField(max_length=7, choices=OrganizationUsage.choices, null=True, blank=True)
    allow_any_organization = models.BooleanField(default=False)
    is_system = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                name="cgr_client_xor_default_for",
                condition=Q(client__isnull=False, default_for__isnull=True)
                | Q(client__isnull=True, default_for__isnull=False, default_for__in=DefaultFor.values),
                violation_error_message="A client grant has exactly one of client_id and default_for.",
            ),
            models.UniqueConstraint(
                fields=["client", "resource_server", "subject_type"],
                condition=Q(client__isnull=False),
                name="cgr_one_per_client_audience_subject",
                violation_error_message="This application already has a grant for this API and subject type.",
            ),
            models.UniqueConstraint(
                fields=["default_for", "resource_server", "subject_type"],
                condition=Q(default_for__isnull=False),
                name="cgr_one_default_per_audience_subject",
                violation_error_message="A default grant for this API and subject type already exists.",
            ),
            models.CheckConstraint(name="cgr_subject_type_valid", condition=Q(subject_type__in=SubjectType.values)),
        ]
        indexes = [models.Index(fields=["resource_server", "subject_type"], name="cgr_audience_subject")]

    def __str__(self):
        """In words, as the console shows it: "Acme Order Sync → https://api.example.com/ (User (delegated))"."""
        who = self.client.name if self.client_id else f"Default for {self.get_default_for_display().lower()}"
        return f"{who} → {self.audience} ({self.get_subject_type_display()})"

    @property
    def audience(self) -> str:
        return self.resource_server_id

    def invariant_errors(self) -> dict[str, list[str]]:
        """Rules that span rows; the single-row ones are also database constraints."""
        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        for field, message in self.immutable_field_errors().items():
            add(field, message)
        if (self.client_id is None) == (self.default_for is None):
            add("__all__", "A client grant has exactly one of client_id and default_for.")
        if not isinstance(self.scope, list) or not all(isinstance(s, str) for s in self.scope):
            add("scope", "scope must be a list of scope values.")
            return errors
        if self.allow_all_scopes and self.scope:
            add("scope", "scope cannot be set together with allow_all_scopes.")
        if self.resource_server_id is None:
            return errors
        rs = self.resource_server
        if rs.is_system and self.default_for:
            add("default_for", "System APIs do not take default grants for third-party applications.")
        if rs.is_system and self.client_id and not self.client.is_first_party:
            add("client", "Third-party applications cannot be granted access to system APIs.")
        if rs.is_system and self.subject_type == SubjectType.USER and not takes_user_grants(rs):
            # A user token for the Management API would hand tenant administration to whoever can
            # sign in to the app: it accepts only the app's own client-credentials tokens. The My
            # Organization, My Account and MFA APIs are the exceptions, for first-party apps only (the rule above).
            add("subject_type", SYSTEM_API_USER_GRANT_ERROR)
        if self.allow_any_organization and (self.default_for or (self.client_id and not self.client.is_first_party)):
            add("allow_any_organization", "allow_any_organization is not available to third-party applications.")
        if self.subject_type == SubjectType.USER and (
            self.allow_any_organization or self.organization_usage not in (None, "", OrganizationUsage.DENY)
        ):
            # User flows take their organization from the request and the app's own organization_usage.
            add("organization_usage", "organization_usage and allow_any_organization apply to client access only.")
        known = set(rs.scopes.values_list("value", flat=True))
        unknown = [s for s in self.scope if s not in known]
        if unknown:
            add("scope", f"Scopes not defined on {rs.identifier}: {', '.join(unknown)}.")
        if len(set(self.scope)) != len(self.scope):
            add("scope", "scope must not repeat a value.")
        return errors

    def clean(self):
        errors = self.invariant_errors()
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.clean()
        super().save(*args, **kwargs)
