from django.contrib import admin
from django.urls import include, path

from portal.health import healthz

admin.site.site_header = "Portcullis administration"
admin.site.site_title = "Portcullis"
admin.site.index_title = "Tenant administration"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v2/", include("oauthcore.api.urls")),
    path("portal/", include("portal.portal_urls")),
    path("", include("oauthcore.urls")),
    path("", include("consent.urls")),
]
