from django.db import migrations


class Migration(migrations.Migration):
    """The partner link moved to the partner app's PartnerApplication (portal 0004 copied every one)."""

    dependencies = [
        ('oauthcore', '0008_policy_version'),
        ('portal', '0004_partner_application'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='application',
            name='app_partner_created',
        ),
        migrations.RemoveField(
            model_name='application',
            name='partner',
        ),
    ]
