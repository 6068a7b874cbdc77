# An application can be suspended: it gets nothing from any grant type until that is lifted.

import importlib

from django.db import migrations, models

# SQLite rebuilds the table to add the column, dropping its immutable-column triggers: put them back.
partner_link = importlib.import_module("oauthcore.migrations.0009_application_partner_link")


class Migration(migrations.Migration):
    dependencies = [
        ("oauthcore", "0012_system_api_user_grants"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, partner_link.restore_sqlite_triggers),
        migrations.AddField(
            model_name="application",
            name="suspended",
            field=models.BooleanField(
                default=False, editable=False, help_text="Suspended apps get no token from any grant type."
            ),
        ),
        migrations.RunPython(partner_link.restore_sqlite_triggers, migrations.RunPython.noop),
    ]
