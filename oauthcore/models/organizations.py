"""Organizations: the tenant's business customers, each with its members and its connections.

An organization is used in a flow when ``/authorize`` (or a client-credentials token request) names
it; the access decision then checks it (``policy.Rule.CONNECTION``, "Connections and organizations").
Third-party apps reach an organization's users only when it allows them
(``third_party_client_access``), and machine-to-machine access reaches it only through a client
grant it has been associated with (``OrganizationClientGrant``) or one that allows any organization.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from oauthcore.constants import ThirdPartyClientAccess
from oauthcore.credentials import new_organization_id

NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,48}[a-z0-9])?$"
NAME_RULE = "The name is 1 to 50 lowercase letters, digits, '-' and '_', starting and ending with a letter or a digit."
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
BRANDING_COLOURS = ("primary", "page_background")
METADATA_KEYS = 25
METADATA_VALUE_LENGTH = 255


def branding_errors(branding) -> list[str]:
    """What is wrong with a ``branding`` value: ``{"logo_url": https URL, "colors": {"primary": "#RRGGBB",
    "page_background": "#RRGGBB"}}``, every part optional."""
    if not isinstance(branding, dict):
        return ["branding must be an object."]
    errors = [f"branding.{key} is not a branding property." for key in sorted(set(branding) - {"logo_url", "colors"})]
    logo = branding.get("logo_url")
    if logo is not None and (not isinstance(logo, str) or not logo.startswith("https://") or len(logo) > 2000):
        errors.append("branding.logo_url must be an https URL.")
    colours = branding.get("colors")
    if colours is not None:
        if not isinstance(colours, dict):
            errors.append("branding.colors must be an object.")
        else:
            for key, value in sorted(colours.items()):
                if key not in BRANDING_COLOURS:
                    errors.append(f"branding.colors.{key} is not a branding colour (primary, page_background).")
                elif not isinstance(value, str) or not COLOUR.match(value):
                    errors.append(f"branding.colors.{key} must be a colour such as #1a2b3c.")
    return errors


def metadata_errors(metadata) -> list[str]:
    """Auth0's organization metadata: at most 25 string properties, values of at most 255 characters."""
    if not isinstance(metadata, dict):
        return ["metadata must be an object."]
    if len(metadata) > METADATA_KEYS:
        return [f"metadata has at most {METADATA_KEYS} properties."]
    return [
        f"metadata.{key} must be a string of at most {METADATA_VALUE_LENGTH} characters."
        for key, value in sorted(metadata.items())
        if not isinstance(value, str) or len(value) > METADATA_VALUE_LENGTH
    ]


class MemberRole(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Administrator (manages the organization through the My Organization API)"


class Organization(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_organization_id, editable=False)
    name = models.CharField(
        max_length=50,
        unique=True,
        validators=[RegexValidator(NAME_PATTERN, NAME_RULE)],
        help_text="What users type at the organization prompt and requests may send as organization=. " + NAME_RULE,
    )
    display_name = models.CharField(max_length=255, blank=True)
    branding = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    third_party_client_access = models.CharField(
        max_length=5,
        choices=ThirdPartyClientAccess.choices,
        default=ThirdPartyClientAccess.BLOCK,
        help_text="Whether third-party apps may sign this organization's users in. Machine-to-machine "
        "access does not look at it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="OrganizationMember", related_name="organizations", blank=True
    )
    connections = models.ManyToManyField(
        "oauthcore.Connection", through="OrganizationConnection", related_name="organizations", blank=True
    )
    client_grants = models.ManyToManyField(
        "oauthcore.ClientGrant", through="OrganizationClientGrant", related_name="organizations", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.display_name or self.name

    @property
    def allows_third_party(self) -> bool:
        return self.third_party_client_access == ThirdPartyClientAccess.ALLOW

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    def clean(self):
        problems = {}
        if self.name and self.name != self.name.lower():
            problems["name"] = "The name must be lowercase."
        for field, errors in (
            ("branding", branding_errors(self.branding)),
            ("metadata", metadata_errors(self.metadata)),
        ):
            if errors:
                problems[field] = errors
        if problems:
            raise ValidationError(problems)


class OrganizationMember(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_memberships"
    )
    # An administrator of the organization manages it through the My Organization API.
    role = models.CharField(max_length=6, choices=MemberRole.choices, default=MemberRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "member"
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="orgmember_one_per_user"),
        ]
        # "Which organizations is this user in" (the organization picker, /account/apps).
        indexes = [models.Index(fields=["user"], name="orgmember_user")]

    def __str__(self):
        return f"{self.user} in {self.organization}"


class OrganizationConnection(models.Model):
    """A connection enabled for an organization: its members sign in through it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="enabled_connections")
    connection = models.ForeignKey("oauthcore.Connection", on_delete=models.CASCADE, related_name="organization_links")
    assign_membership_on_login = models.BooleanField(
        default=False, help_text="Whoever signs in through it while logging in to the organization becomes a member."
    )
    show_as_button = models.BooleanField(default=True, help_text="Shown as a button on the organization's login.")
    is_signup_enabled = models.BooleanField(
        default=False, help_text="Database connections only: new users may sign up into the organization."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "enabled connection"
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "connection"], name="orgconnection_one_per_connection"),
        ]

    def __str__(self):
        return f"{self.connection} for {self.organization}"

    def clean(self):
        if self.is_signup_enabled and self.connection_id and self.connection.is_enterprise:
            raise ValidationError({"is_signup_enabled": "Only a database connection can let users sign up."})
        if self.is_signup_enabled and not self.assign_membership_on_login:
            raise ValidationError(
                {"is_signup_enabled": "Sign-up needs assign_membership_on_login: a new user must become a member."}
            )


class OrganizationClientGrant(models.Model):
    """An organization's explicit authorization of a client grant, for machine-to-machine tokens."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="grant_links")
    client_grant = models.ForeignKey(
        "oauthcore.ClientGrant", on_delete=models.CASCADE, related_name="organization_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "authorized client grant"
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "client_grant"], name="orggrant_one_per_grant"),
        ]
        # The token endpoint asks "is this grant associated with this organization" by grant.
        indexes = [models.Index(fields=["client_grant", "organization"], name="orggrant_grant_org")]

    def __str__(self):
        return f"{self.client_grant_id} for {self.organization}"
