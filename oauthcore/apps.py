from django.apps import AppConfig


class OAuthCoreConfig(AppConfig):
    name = "oauthcore"
    verbose_name = "Authorization server"

    def ready(self):
        from django.db.models.signals import post_migrate

        from oauthcore import (
            checks,  # noqa: F401  (registers system checks)
            policy_cache,
        )
        from oauthcore.bootstrap import ensure_system_objects

        post_migrate.connect(ensure_system_objects, sender=self, dispatch_uid="oauthcore.ensure_system_objects")
        policy_cache.connect_signals()
