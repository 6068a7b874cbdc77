from django.contrib import admin
from django.urls import include, path

from consent.api import urls as consent_api
from oauthcore.api import urls as management_api
from oauthcore.signin import throttled_login
from portal.platform.health import healthz

admin.site.site_header = "Portcullis administration"
admin.site.site_title = "Portcullis"
admin.site.index_title = "Tenant administration"

handler400 = "portal.platform.error_pages.bad_request"
handler500 = "portal.platform.error_pages.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The admin's login form, within the same sign-in limits as /login (oauthcore.signin).
    path("admin/login/", throttled_login(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    # One management API: the consent app's paths first, oauthcore's (ending in its catch-all 404) after.
    path("api/v2/", include(([*consent_api.urlpatterns, *management_api.urlpatterns], management_api.app_name))),
    path("portal/", include("portal.partners.urls")),
    path("", include("oauthcore.urls")),
    path("", include("consent.urls")),
]
