"""The emails end users get (verification, password reset, welcome, blocked account), as the tenant
admin words them. A template without a row uses the default in ``oauthcore.account_emails``."""

from django.db import models


class EmailTemplateName(models.TextChoices):
    VERIFY_EMAIL = "verify_email", "Verification email"
    RESET_EMAIL = "reset_email", "Password reset"
    WELCOME_EMAIL = "welcome_email", "Welcome email"
    BLOCKED_ACCOUNT = "blocked_account", "Blocked account"


class EmailTemplate(models.Model):
    template = models.CharField(max_length=32, choices=EmailTemplateName.choices, unique=True)
    enabled = models.BooleanField(default=True, help_text="Send this email. Off: the flow goes on without it.")
    from_address = models.CharField(
        "from",
        max_length=254,
        blank=True,
        help_text="The sender, e.g. Acme <no-reply@acme.example>; empty: the default.",
    )
    subject = models.CharField(max_length=255, help_text="Django template syntax; see the variables below.")
    body = models.TextField(help_text="Plain text, Django template syntax: {{ user.email }}, {{ url }}…")
    result_url = models.URLField(
        "result URL", max_length=2000, blank=True, help_text="Where the user goes after the link's page (optional)."
    )
    url_lifetime_in_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long the email's link works; empty: the default."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["template"]

    def __str__(self):
        return self.get_template_display()
