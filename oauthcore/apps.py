from django.apps import AppConfig


class OAuthCoreConfig(AppConfig):
    name = "oauthcore"
    verbose_name = "Authorization server"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_migrate

        from oauthcore import (
            checks,  # noqa: F401  (registers system checks)
            policy_cache,
        )
        from oauthcore.bootstrap import ensure_system_objects
        from oauthcore.signin import on_logged_in, on_login_failed

        post_migrate.connect(ensure_system_objects, sender=self, dispatch_uid="oauthcore.ensure_system_objects")
        # Sign-ins and failed sign-ins, counted for the lockout and written to the audit log.
        user_login_failed.connect(on_login_failed, dispatch_uid="oauthcore.signin.failed")
        user_logged_in.connect(on_logged_in, dispatch_uid="oauthcore.signin.succeeded")
        policy_cache.connect_signals()
