from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self):
        from consent.services import user_grants_revoke_all
        from oauthcore.services.users import user_deactivated

        def revoke_consents(sender, *, actor, user, **kwargs):
            user_grants_revoke_all(actor=actor, user=user)

        user_deactivated.connect(revoke_consents, weak=False, dispatch_uid="consent.revoke_on_user_deactivated")
