"""Remove user-subject client grants on system APIs, and the user tokens they gave.

Such a grant let an app hand Management API tokens to any user who could sign in to it. The model
now refuses them; the ones created before are deleted here, each with its audit entry (the sealer
chains it like any other), as ``client_grant_delete`` would have done. Going back restores nothing:
a grant that should never have existed is not recreated.
"""

from django.db import migrations
from django.utils import timezone

REASON = "system APIs accept only client-credentials tokens"


def remove_user_grants_on_system_apis(apps, schema_editor):
    ClientGrant = apps.get_model("oauthcore", "ClientGrant")
    AccessToken = apps.get_model("oauthcore", "AccessToken")
    RefreshToken = apps.get_model("oauthcore", "RefreshToken")
    AuditEvent = apps.get_model("oauthcore", "AuditEvent")
    grants = ClientGrant.objects.filter(resource_server__is_system=True, subject_type="user").select_related("client")
    for grant in grants:
        tokens = {"application_id": grant.client_id, "audience": grant.resource_server_id, "user__isnull": False}
        _, refreshes = RefreshToken.objects.filter(**tokens).delete()
        _, accesses = AccessToken.objects.filter(**tokens).delete()
        AuditEvent.objects.create(
            created_at=timezone.now(),
            actor_type="system",
            actor_label="migration oauthcore 0012",
            action="client_grant.delete",
            target_type="oauthcore.clientgrant",
            target_id=grant.pk,
            reason=REASON,
            data={
                "client_id": grant.client.client_id if grant.client_id else None,
                "default_for": grant.default_for,
                "audience": grant.resource_server_id,
                "subject_type": grant.subject_type,
                "scope": grant.scope,
                "revoked": {
                    "access_tokens": accesses.get("oauthcore.AccessToken", 0),
                    "refresh_tokens": refreshes.get("oauthcore.RefreshToken", 0),
                },
            },
        )
        grant.delete()


class Migration(migrations.Migration):
    dependencies = [("oauthcore", "0011_user_email_verified")]

    operations = [migrations.RunPython(remove_user_grants_on_system_apis, migrations.RunPython.noop)]
