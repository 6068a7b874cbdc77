import importlib

from django.db import migrations

immutable_columns = importlib.import_module("oauthcore.migrations.0003_immutable_columns")

restore_sqlite_triggers = immutable_columns.sqlite_trigger_restorer("oauthcore_application")


class Migration(migrations.Migration):
    """The partner link moved to the partner app's PartnerApplication (portal 0004 copied every one)."""

    dependencies = [
        ('oauthcore', '0008_policy_version'),
        ('portal', '0004_partner_application'),
    ]

    operations = [
        # Unapplied last: the partner column is back, and so must the triggers be.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_triggers),
        migrations.RemoveIndex(
            model_name='application',
            name='app_partner_created',
        ),
        migrations.RemoveField(
            model_name='application',
            name='partner',
        ),
        migrations.RunPython(restore_sqlite_triggers, migrations.RunPython.noop),
    ]
