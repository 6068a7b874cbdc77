"""A real email_verified for every user (it used to be inferred from having an address at all).

Existing users start unverified: nothing so far proved they receive mail at their address. The portal's
migration that follows marks those whose confirmed sign-up or accepted invitation does prove it; an
admin or the management API vouches for the rest.
"""

import importlib

import django.db.models.functions.text
from django.db import migrations, models

immutable_columns = importlib.import_module("oauthcore.migrations.0003_immutable_columns")

restore_sqlite_triggers = immutable_columns.sqlite_trigger_restorer("oauthcore_user")


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
