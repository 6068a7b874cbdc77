"""The email outbox moves from the partner app to the core, which now sends account emails too.

Only Django's idea of where the model lives changes: the table keeps its name and its rows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oauthcore", "0018_organizations"),
        ("portal", "0002_outbound_email"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboundEmail",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(help_text="What the email is for, e.g. partner.verify_email.", max_length=64)),
                        ("to", models.JSONField(default=list, help_text="Recipient addresses.")),
                        ("subject", models.CharField(max_length=255)),
                        ("body", models.TextField(blank=True)),
                        ("message_id", models.CharField(editable=False, max_length=255, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                    ],
                    options={
                        "db_table": "portal_outboundemail",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("sent_at__isnull", True)),
                                fields=["created_at"],
                                name="outbound_email_unsent",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
