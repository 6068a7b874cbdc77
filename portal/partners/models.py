"""Partners, their teams, and their requests for API access."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from oauthcore.constants import SubjectType


class PartnerStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Partner(models.Model):
    Status = PartnerStatus

    name = models.CharField("organization name", max_length=200)
    website = models.URLField(blank=True)
    status = models.CharField(max_length=10, choices=PartnerStatus.choices, default=PartnerStatus.ACTIVE)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The apps it owns, through PartnerApplication (one owner per app). Applications are queried by
    # their owner as ``Application.objects.filter(partner=...)``; the core model knows nothing of it.
    applications = models.ManyToManyField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        through="PartnerApplication",
        related_name="+",
        related_query_name="partner",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(name="partner_status_valid", condition=Q(status__in=PartnerStatus.values))
        ]

    def __str__(self):
        return self.name


def cascade_to_applications(collector, field, sub_objs, using):
    """``on_delete`` of a link's partner: deleting a partner deletes its apps, not only the links to
    them, as a foreign key from the app to its partner would; no app is left behind without its owner."""
    models.CASCADE(collector, field, sub_objs, using)
    application_model = field.model._meta.get_field("application").related_model
    collector.collect(
        application_model._base_manager.using(using).filter(partner_link__in=sub_objs),
        # The links (which point at the apps) go first; the admin lists each app under its link.
        source=field.model,
        source_attr="partner_link",
        reverse_dependency=True,
        fail_on_restricted=False,
    )


class PartnerApplication(models.Model):
    """Which partner owns an application (apps without one are the tenant's own).

    The link lives on the partner side so that the core ``Application`` model does not depend on
    the partner app; ``application.partner_link.partner`` reaches the owner from an app.
    """

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="partner_link"
    )
    partner = models.ForeignKey(Partner, on_delete=cascade_to_applications, related_name="application_links")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The portal's lookups: a partner's apps, by when they became its.
            models.Index(fields=["partner", "created_at"], name="partner_app_partner_created"),
        ]

    def __str__(self):
        return f"{self.application} of {self.partner}"


class PartnerMembership(models.Model):
    Role = Role

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "user"],
                name="membership_one_per_partner_user",
                violation_error_message="This user is already a member of this partner.",
            ),
            models.CheckConstraint(name="membership_role_valid", condition=Q(role__in=Role.values)),
        ]

    def __str__(self):
        return f"{self.user} ({self.role}) at {self.partner}"


class AccessRequest(models.Model):
    """A partner's request for one of its apps to reach an API."""

    Status = RequestStatus

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="access_requests")
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="access_requests"
    )
    resource_server = models.ForeignKey(
        "oauthcore.ResourceServer", on_delete=models.CASCADE, related_name="access_requests", verbose_name="API"
    )
    subject_type = models.CharField(max_length=6, choices=SubjectType.choices)
    scope = models.JSONField(default=list, blank=True, help_text="The scopes asked for.")
    justification = models.TextField()
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_scope = models.JSONField(default=list, blank=True, help_text="The scopes approved.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="accessrequest_status_valid", condition=Q(status__in=RequestStatus.values)),
            models.CheckConstraint(
                name="accessrequest_subject_type_valid", condition=Q(subject_type__in=SubjectType.values)
            ),
            models.UniqueConstraint(
                fields=["client", "resource_server", "subject_type"],
                condition=Q(status="pending"),
                name="accessrequest_one_pending_per_client_api_subject",
                violation_error_message="A pending request for this app, API and access type already exists.",
            ),
        ]
        indexes = [models.Index(fields=["partner", "status"], name="accessrequest_partner_status")]

    def __str__(self):
        kind, status = self.get_subject_type_display(), self.get_status_display()
        return f"{self.client} → {self.resource_server} · {kind} · {status}"

    def clean(self):
        errors = {}
        if (
            self.client_id
            and self.partner_id
            and not PartnerApplication.objects.filter(application=self.client_id, partner=self.partner_id).exists()
        ):
            errors["client"] = "The application does not belong to this partner."
        if not isinstance(self.scope, list) or not all(isinstance(s, str) for s in self.scope):
            errors["scope"] = "scope must be a list of scope values."
        elif self.resource_server_id:
            known = set(self.resource_server.scopes.values_list("value", flat=True))
            unknown = [s for s in self.scope if s not in known]
            if unknown:
                errors["scope"] = f"Scopes not defined on {self.resource_server.identifier}: {', '.join(unknown)}."
        if errors:
            raise ValidationError(errors)


class Invitation(models.Model):
    """An emailed invitation to join a partner with a role.

    The link carries a random token; only its SHA-256 digest is stored, so the table does not hold
    working links. Accepting it is single use (``accepted_at``) and it expires at ``expires_at``.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.DEVELOPER)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="invitation_role_valid", condition=Q(role__in=Role.values)),
        ]
        indexes = [
            models.Index(fields=["partner", "email"], name="invitation_partner_email"),
        ]

    def __str__(self):
        return f"{self.email} ({self.role}) to {self.partner}"
