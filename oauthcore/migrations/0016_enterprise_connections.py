"""Enterprise connections: a customer's own OpenID Connect or SAML identity provider.

Connections get their strategy's options (secrets sealed apart), a button on the login page and a
domain index for home-realm discovery; sign-ins in progress and the assertions already accepted are
kept; users of such connections get ids long enough for a provider's subject. The ``uid`` column's
immutability triggers are dropped around its change (PostgreSQL cannot change the type of a column a
trigger's condition reads) and the connection and user tables' triggers are back afterwards (SQLite
drops a table's triggers when Django rebuilds it).
"""

import importlib

import django.db.models.deletion
import oauthcore.credentials
from django.db import migrations, models


immutable_columns = importlib.import_module("oauthcore.migrations.0003_immutable_columns")
USER_TABLE = "oauthcore_user"
CONNECTION_TABLE = "oauthcore_connection"


def drop_user_triggers(apps, schema_editor):
    for column in immutable_columns.IMMUTABLE_COLUMNS[USER_TABLE]:
        name = immutable_columns.trigger_name(USER_TABLE, column)
        suffix = f" ON {USER_TABLE}" if schema_editor.connection.vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}{suffix}")


def restore_triggers(apps, schema_editor):
    drop_user_triggers(apps, schema_editor)
    immutable_columns.create_table_triggers(schema_editor, USER_TABLE)
    immutable_columns.sqlite_trigger_restorer(CONNECTION_TABLE)(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("oauthcore", "0015_stateless_client_tokens"),
    ]

    operations = [
        migrations.RunPython(drop_user_triggers, restore_triggers),
        migrations.AddField(
            model_name="connection",
            name="options",
            field=models.JSONField(blank=True, default=dict, help_text="The strategy's settings, without secrets."),
        ),
        migrations.AddField(
            model_name="connection",
            name="sealed_secrets",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="connection",
            name="is_enabled",
            field=models.BooleanField(default=True, help_text="Users can sign in through this connection."),
        ),
        migrations.AddField(
            model_name="connection",
            name="show_as_button",
            field=models.BooleanField(
                default=True, help_text="Offer the connection as a button on the login page (enterprise connections)."
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="federated_profile",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AlterField(
            model_name="connection",
            name="strategy",
            field=models.CharField(
                choices=[
                    ("auth0", "Database (Django users)"),
                    ("oidc", "OpenID Connect (a customer's identity provider)"),
                    ("samlp", "SAML 2.0 (a customer's identity provider)"),
                ],
                default="auth0",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="uid",
            field=models.CharField(
                default=oauthcore.credentials.random_hex_id,
                editable=False,
                help_text="The public part of user_id (auth0|…); for a user of an enterprise connection {connection}|{the provider's id}. Never the database key.",
                max_length=400,
                unique=True,
                verbose_name="user id",
            ),
        ),
        migrations.CreateModel(
            name="ConnectionDomain",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("domain", models.CharField(max_length=253, unique=True)),
                (
                    "connection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="domains", to="oauthcore.connection"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="FederationFlow",
            fields=[
                ("state", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("binding", models.CharField(max_length=64)),
                ("purpose", models.CharField(default="login", max_length=16)),
                ("next_url", models.TextField(blank=True)),
                ("data", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("completed_at", models.DateTimeField(blank=True, null=True)),
                ("profile", models.JSONField(blank=True, null=True)),
                ("resumed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "connection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="oauthcore.connection"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="FederatedAssertion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("assertion_id", models.CharField(max_length=255)),
                ("expires_at", models.DateTimeField(db_index=True)),
                (
                    "connection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="oauthcore.connection"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        models.F("connection"), models.F("assertion_id"), name="federated_assertion_once_per_connection"
                    )
                ],
            },
        ),
        migrations.RunPython(restore_triggers, drop_user_triggers),
    ]
