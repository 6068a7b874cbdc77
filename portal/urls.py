from django.contrib import admin
from django.shortcuts import render
from django.urls import include, path, reverse_lazy

from consent.api import urls as consent_api
from oauthcore.api import urls as management_api
from oauthcore.conf import portcullis_settings
from oauthcore.constants import MFA_API_PATH, MY_ACCOUNT_API_PATH, MY_ORGANIZATION_API_PATH
from oauthcore.models import TenantSettings
from oauthcore.signin import throttled_login
from portal.platform.favicon import favicon
from portal.platform.health import healthz

admin.site.site_header = "Portcullis administration"
admin.site.site_title = "Portcullis"
admin.site.index_title = "Tenant administration"
# The admin's "View site": the landing page below.
admin.site.site_url = reverse_lazy("landing")

handler400 = "portal.platform.error_pages.bad_request"
handler404 = "portal.platform.error_pages.page_not_found"
handler500 = "portal.platform.error_pages.server_error"


def landing(request):
    """``/``: where each visitor goes (the console, the partner portal, their own apps, the API docs).
    Here, with the URLconf that composes those apps, as it links them all."""
    context = {"tenant_name": TenantSettings.load().friendly_name, "issuer": portcullis_settings.issuer}
    return render(request, "landing.html", context)


urlpatterns = [
    path("", landing, name="landing"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    # The admin's login form, within the same sign-in limits as /login (oauthcore.signin).
    path("admin/login/", throttled_login(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    # One management API: the consent app's paths first, oauthcore's (ending in its catch-all 404) after.
    path("api/v2/", include(([*consent_api.urlpatterns, *management_api.urlpatterns], management_api.app_name))),
    path(MY_ORGANIZATION_API_PATH.lstrip("/"), include("oauthcore.my_org.urls")),
    path(MY_ACCOUNT_API_PATH.lstrip("/"), include("oauthcore.my_account.urls")),
    path(MFA_API_PATH.lstrip("/"), include("oauthcore.mfa_api.urls")),
    path("portal/", include("portal.partners.urls")),
    path("", include("oauthcore.urls")),
    path("", include("consent.urls")),
]
