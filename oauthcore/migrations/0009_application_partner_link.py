import importlib

from django.db import migrations

immutable_columns = importlib.import_module("oauthcore.migrations.0003_immutable_columns")


def restore_sqlite_triggers(apps, schema_editor):
    """SQLite drops a table's triggers when Django rebuilds it to remove a foreign key column (and
    may or may not rebuild it to add one back); put the application's immutable-column triggers
    back, whichever happened. PostgreSQL keeps them."""
    if schema_editor.connection.vendor != "sqlite":
        return
    table = "oauthcore_application"
    for column in immutable_columns.IMMUTABLE_COLUMNS[table]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {immutable_columns.trigger_name(table, column)}")
    immutable_columns.create_table_triggers(schema_editor, table)


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
