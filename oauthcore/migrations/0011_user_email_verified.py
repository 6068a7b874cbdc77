"""A real email_verified for every user (it used to be inferred from having an address at all).

Existing users start unverified: nothing so far proved they receive mail at their address. The portal's
migration that follows marks those whose confirmed sign-up or accepted invitation does prove it; an
admin or the management API vouches for the rest.
"""

import importlib

import django.db.models.functions.text
from django.db import migrations, models

immutable_columns = importlib.import_module("oauthcore.migrations.0003_immutable_columns")


def restore_sqlite_triggers(apps, schema_editor):
    """SQLite drops a table's triggers when Django rebuilds it (as it does to change a constraint):
    put the user's immutable-column triggers back. PostgreSQL keeps them."""
    if schema_editor.connection.vendor != "sqlite":
        return
    table = "oauthcore_user"
    for column in immutable_columns.IMMUTABLE_COLUMNS[table]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {immutable_columns.trigger_name(table, column)}")
    immutable_columns.create_table_triggers(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("oauthcore", "0010_audit_without_lock"),
    ]

    operations = [
        # Unapplied last: the old constraint is back, and so must the triggers be.
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_triggers),
        migrations.AddField(
            model_name="user",
            name="email_verified",
            field=models.BooleanField(
                default=False,
                help_text="The user proved they receive mail at this address (or an admin vouches for it).",
            ),
        ),
        migrations.RemoveConstraint(model_name="user", name="user_unique_email_per_connection"),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                models.F("connection"),
                condition=models.Q(models.Q(("email", ""), _negated=True), ("email_verified", True)),
                name="user_unique_verified_email_per_connection",
                violation_error_message="Another user of this connection already has this email verified.",
            ),
        ),
        migrations.RunPython(restore_sqlite_triggers, migrations.RunPython.noop),
    ]
