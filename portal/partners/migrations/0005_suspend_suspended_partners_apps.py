# The apps of partners suspended before applications could be suspended are suspended now, as
# suspending them today would (their tokens are revoked too: they should not have been issued).

from django.db import migrations
from django.utils import timezone


def suspend(apps, schema_editor):
    Application = apps.get_model("oauthcore", "Application")
    AccessToken = apps.get_model("oauthcore", "AccessToken")
    RefreshToken = apps.get_model("oauthcore", "RefreshToken")
    Grant = apps.get_model("oauthcore", "Grant")
    suspended = Application.objects.filter(partner_link__partner__status="suspended")
    suspended.update(suspended=True)
    RefreshToken.objects.filter(application__in=suspended, revoked__isnull=True).update(revoked=timezone.now())
    AccessToken.objects.filter(application__in=suspended).delete()
    Grant.objects.filter(application__in=suspended).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_partner_application"),
        ("oauthcore", "0013_application_suspended"),
    ]

    operations = [migrations.RunPython(suspend, migrations.RunPython.noop)]
