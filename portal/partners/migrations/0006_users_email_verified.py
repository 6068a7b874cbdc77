"""Mark verified the users whose address the portal already proved.

Proof is a confirmation link opened (the ``partner.email_verified`` audit entry names the owner and the
address it was sent to) or an invitation accepted (the invitation was emailed to its address). Only
where the account still has that address; everyone else stays unverified until an admin or the
management API says otherwise. Partners made verified by an admin prove nothing about their owner.
"""

from django.conf import settings
from django.db import migrations


def mark_proven_addresses(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    AuditEvent = apps.get_model("oauthcore", "AuditEvent")
    Invitation = apps.get_model("portal", "Invitation")
    proven = set()
    for actor_id, data in AuditEvent.objects.filter(action="partner.email_verified", actor_type="user").values_list(
        "actor_id", "data"
    ):
        if actor_id.isdigit() and isinstance(data, dict) and data.get("email"):
            proven.add((int(actor_id), data["email"].lower()))
    for user_id, email in Invitation.objects.filter(accepted_by__isnull=False).values_list("accepted_by", "email"):
        proven.add((user_id, email.lower()))
    for user_id, email in proven:
        User.objects.filter(pk=user_id, email__iexact=email, email_verified=False).update(email_verified=True)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_suspend_suspended_partners_apps"),
        ("oauthcore", "0011_user_email_verified"),
    ]

    operations = [migrations.RunPython(mark_proven_addresses, migrations.RunPython.noop)]
