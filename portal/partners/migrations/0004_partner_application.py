import django.db.models.deletion
import django.utils.timezone
import portal.partners.models
from django.conf import settings
from django.db import migrations, models


def link_partner_applications(apps, schema_editor):
    """Each partner-owned app gets its link, dated as the app (the old column goes in oauthcore 0009)."""
    Application = apps.get_model(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)
    PartnerApplication = apps.get_model("portal", "PartnerApplication")
    owned = Application.objects.filter(partner__isnull=False).values_list("pk", "partner_id", "created")
    PartnerApplication.objects.bulk_create(
        PartnerApplication(application_id=pk, partner_id=partner_id, created_at=created)
        for pk, partner_id, created in owned.iterator()
    )


def unlink_partner_applications(apps, schema_editor):
    """Back to the app's own column, which oauthcore 0009's reversal has restored (empty)."""
    Application = apps.get_model(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)
    PartnerApplication = apps.get_model("portal", "PartnerApplication")
    for application_id, partner_id in PartnerApplication.objects.values_list("application_id", "partner_id"):
        Application.objects.filter(pk=application_id).update(partner_id=partner_id)


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0003_portal_self_service'),
        # The application table as it was, with its partner column still there to be copied.
        ('oauthcore', '0008_policy_version'),
    ]

    operations = [
        migrations.CreateModel(
            name='PartnerApplication',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('application', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='partner_link', to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL)),
                ('partner', models.ForeignKey(on_delete=portal.partners.models.cascade_to_applications, related_name='application_links', to='portal.partner')),
            ],
        ),
        migrations.AddIndex(
            model_name='partnerapplication',
            index=models.Index(fields=['partner', 'created_at'], name='partner_app_partner_created'),
        ),
        migrations.RunPython(link_partner_applications, unlink_partner_applications),
        # Last: until oauthcore 0009 drops Application.partner, that column owns the query name "partner".
        migrations.AddField(
            model_name='partner',
            name='applications',
            field=models.ManyToManyField(related_name='+', related_query_name='partner', through='portal.PartnerApplication', to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
        ),
    ]
