from django.apps import AppConfig


class PartnersConfig(AppConfig):
    """The partner app. Its label stays ``portal`` (the package it grew up in), so its tables
    (``portal_partner``, ``portal_accessrequest``…), migrations and permissions keep their names."""

    name = "portal.partners"
    label = "portal"
    verbose_name = "Partner portal"

    def ready(self):
        from django.db.models.signals import post_migrate

        from consent.signals import account_deletion_refusals
        from portal.partners.account_deletion import sole_owner_refusal
        from portal.platform.console_theme import ensure_console_theme

        # The admin console's theme (django-admin-interface), created once after the tables exist.
        post_migrate.connect(ensure_console_theme, sender=self, dispatch_uid="portal.console_theme")
        # A partner's last owner keeps their account until the partner has another owner.
        account_deletion_refusals.connect(sole_owner_refusal, dispatch_uid="portal.sole_owner_refusal")
