from django.urls import path

from oauthcore.views import (
    account_links,
    accounts,
    connection_setup,
    device,
    discovery,
    federation,
    mfa,
    organizations,
    registration,
    security,
    signup,
)
from oauthcore.views.authorize import AuthorizeView
from oauthcore.views.tokens import IntrospectView, RevokeView, TokenView, UserInfoView

urlpatterns = [
    path("authorize", AuthorizeView.as_view(), name="authorize"),
    path("oauth/token", TokenView.as_view(), name="token"),
    path("oauth/revoke", RevokeView.as_view(), name="revoke"),
    path("oauth/introspect", IntrospectView.as_view(), name="introspect"),
    path("userinfo", UserInfoView.as_view(), name="userinfo"),
    path("oauth/device/code", device.DeviceAuthorizationView.as_view(), name="device-code"),
    path("activate", device.activate, name="device-activate"),
    path("oidc/register", registration.RegisterView.as_view(), name="dcr-register"),
    path(
        "oidc/register/<str:client_id>",
        registration.RegistrationManagementView.as_view(),
        name="dcr-registration",
    ),
    path(".well-known/openid-configuration", discovery.openid_configuration, name="openid-configuration"),
    path(".well-known/oauth-authorization-server", discovery.oauth_authorization_server, name="oauth-metadata"),
    path(".well-known/jwks.json", discovery.jwks, name="jwks"),
    path("login", accounts.LoginView.as_view(), name="login"),
    path("logout", accounts.LogoutView.as_view(), name="logout"),
    path("login/signup", signup.SignUpView.as_view(), name="account-signup"),
    path("login/password-reset", account_links.PasswordResetRequestView.as_view(), name="account-password-reset"),
    path("login/reset/<str:token>", account_links.PasswordResetView.as_view(), name="account-reset"),
    path("login/verify/<str:token>", account_links.VerifyEmailView.as_view(), name="account-verify"),
    path(
        "login/change-email/<str:token>",
        account_links.EmailChangeConfirmView.as_view(),
        name="account-change-email-confirm",
    ),
    path("login/mfa", mfa.SecondFactorView.as_view(), name="login-mfa"),
    path("login/mfa/enroll", mfa.EnrollAtLoginView.as_view(), name="login-mfa-enroll"),
    path("account/security", security.SecurityView.as_view(), name="account-security"),
    path("account/security/totp", security.TotpEnrollView.as_view(), name="account-security-totp"),
    path("account/security/passkey", security.PasskeyEnrollView.as_view(), name="account-security-passkey"),
    path("account/security/recovery-codes", security.RecoveryCodesView.as_view(), name="account-security-recovery"),
    path(
        "account/security/factors/<int:pk>/remove", security.RemoveFactorView.as_view(), name="account-security-remove"
    ),
    path("login/connection/<str:name>", federation.StartView.as_view(), name="federation-start"),
    path("login/organization", organizations.OrganizationPromptView.as_view(), name="organization-prompt"),
    path("login/organization/choose", organizations.OrganizationPickerView.as_view(), name="organization-choose"),
    path("login/callback", federation.CallbackView.as_view(), name="federation-callback"),
    path("samlp/metadata", federation.saml_metadata, name="saml-metadata"),
    path("connection-setup/", connection_setup.SetupView.as_view(), name="connection-setup"),
    path("connection-setup/<str:token>", connection_setup.SetupLinkView.as_view(), name="connection-setup-link"),
]
