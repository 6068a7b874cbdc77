# Token activity: tokens issued and requests denied per hour, app and API, counted as they happen
# (oauthcore.activity), for the console's charts. And an index for the console's recent denials:
# the latest entries of one action, without sorting every entry of that action.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oauthcore", "0013_application_suspended"),
    ]

    operations = [
        migrations.CreateModel(
            name="TokenActivity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("bucket", models.DateTimeField(help_text="The start of the hour (UTC) the counts are for.")),
                ("client_id", models.CharField(blank=True, max_length=100)),
                ("audience", models.CharField(blank=True, max_length=600, verbose_name="API identifier")),
                ("issued", models.PositiveBigIntegerField(default=0)),
                ("denied", models.PositiveBigIntegerField(default=0)),
            ],
            options={
                "verbose_name": "token activity",
                "verbose_name_plural": "token activity",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("bucket", "client_id", "audience"), name="token_activity_one_per_key"
                    ),
                ],
            },
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "created_at", "id"], name="audit_action_created"),
        ),
    ]
