"""``/portal/``: the partner portal. Every page under ``<partner_id>/`` checks membership first."""

from django.urls import include, path, register_converter

from portal.partners.converters import IdConverter
from portal.partners.views import apps, onboarding, team

register_converter(IdConverter, "id")

app_name = "portal"

partner_urls = [
    path("", apps.dashboard, name="dashboard"),
    path("apps/new", apps.app_new, name="app-new"),
    path("apps/<str:client_id>/", apps.app_detail, name="app"),
    path("apps/<str:client_id>/edit", apps.app_edit, name="app-edit"),
    path("apps/<str:client_id>/rotate-secret", apps.app_rotate, name="app-rotate"),
    path(
        "apps/<str:client_id>/previous-secrets/<id:secret_id>/end",
        apps.previous_secret_end,
        name="app-previous-secret-end",
    ),
    path("apps/<str:client_id>/delete", apps.app_delete, name="app-delete"),
    path("apps/<str:client_id>/request-access", apps.request_access, name="app-request-access"),
    path("requests", apps.requests_list, name="requests"),
    path("catalog", apps.catalog, name="catalog"),
    path("organizations", apps.organizations, name="organizations"),
    path("team", team.team_page, name="team"),
    path("team/invite", team.invite, name="invite"),
    path("team/<id:membership_id>/role", team.member_role, name="member-role"),
    path("team/<id:membership_id>/remove", team.member_remove, name="member-remove"),
    path("invitations/<id:invitation_id>/cancel", team.invitation_cancel, name="invitation-cancel"),
    path("settings", team.settings_page, name="settings"),
    path("delete", team.partner_delete_page, name="partner-delete"),
    path("verify-email/resend", onboarding.resend_verification, name="resend-verification"),
]

urlpatterns = [
    path("", onboarding.home, name="home"),
    path("login", onboarding.PortalLoginView.as_view(), name="login"),
    path("password-help", onboarding.password_help, name="password-help"),
    path("signup", onboarding.sign_up, name="signup"),
    path("verify-email/<str:token>", onboarding.verify_email, name="verify-email"),
    path("invitations/<str:token>", onboarding.invitation, name="invitation"),
    path("<id:partner_id>/", include(partner_urls)),
]
