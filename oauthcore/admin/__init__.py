"""The Django admin: the tenant admin's home.

django-oauth-toolkit's own admin module registers its swapped models (applications and tokens)
with the classes named in ``OAUTH2_PROVIDER`` (``oauthcore.admin.ApplicationAdmin`` …); this
package registers every other model of the app.
"""

from django.contrib import admin

from oauthcore.admin import (
    account_links,
    activity,
    client_grants,
    connection_setup,
    connections,
    directory,
    email_templates,
    organizations,
    outbox,
    resource_servers,
    simulator,
)
from oauthcore.admin.applications import ApplicationAdmin
from oauthcore.admin.tokens import AccessTokenAdmin, GrantAdmin, IDTokenAdmin, RefreshTokenAdmin
from oauthcore.views.accounts import AdminSignInForm

admin.site.login_form = AdminSignInForm  # the admin's login, bounded as /login is

__all__ = [
    "AccessTokenAdmin",
    "ApplicationAdmin",
    "GrantAdmin",
    "IDTokenAdmin",
    "RefreshTokenAdmin",
    "account_links",
    "activity",
    "client_grants",
    "connection_setup",
    "connections",
    "directory",
    "email_templates",
    "organizations",
    "outbox",
    "resource_servers",
    "simulator",
]
