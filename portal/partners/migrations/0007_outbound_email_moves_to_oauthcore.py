"""The email outbox now belongs to the core (``oauthcore.OutboundEmail``); its table stays as it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_users_email_verified"),
        ("oauthcore", "0019_outbound_email"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="OutboundEmail")],
            database_operations=[],
        ),
    ]
