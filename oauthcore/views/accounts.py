"""End-user login and logout (username or email, and a password)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View

from oauthcore.federation.discovery import (
    application_of_next,
    connection_for_email,
    enterprise_connections_for,
    organization_of_next,
    start_url,
)
from oauthcore.mfa_login import PASSWORD, next_asks_mfa, remember_methods, second_step
from oauthcore.models import TenantSettings
from oauthcore.signin import throttled_login
from oauthcore.views.mfa import begin_second_step
from oauthcore.views.signup import signup_connection
from portal.platform.csp import decision_page


def login_name_max_length() -> int:
    """The longest name anyone can log in with: a username or an email address."""
    User = get_user_model()
    return max(User._meta.get_field(name).max_length for name in (User.USERNAME_FIELD, User.EMAIL_FIELD))


class BoundedLoginName:
    """Django's login forms set the username field's ``max_length`` after the field is built, so
    it only reaches the HTML; a longer name still went to the database (on SQLite a 60,000-character
    one is a ``LIKE`` pattern too complex: an error, answered as the database being down). The limit
    is enforced here, before any lookup, as a field error."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.max_length = login_name_max_length()
        field.widget.attrs["maxlength"] = field.max_length
        field.validators.append(MaxLengthValidator(field.max_length))


class SignInForm(BoundedLoginName, AuthenticationForm):
    """Identifier first: an email of an enterprise connection's domain needs no password here (the
    view sends it to its provider before the form is checked), so the password is asked for only
    when the name stays here."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].required = False

    def clean(self):
        if self.cleaned_data.get("username") and not self.cleaned_data.get("password"):
            self.add_error("password", "Enter your password.")
            return self.cleaned_data
        return super().clean()


class AdminSignInForm(BoundedLoginName, AdminAuthenticationForm):
    """The admin's own login has no second step: an account the login would ask a second factor of
    signs in at ``/login`` (which then opens the admin), never with its password alone here."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if second_step(user, acr_mfa=False) is not None:
            raise ValidationError(
                "This account signs in with a second factor: log in at /login?next=/admin/ instead.",
                code="second_factor",
            )


@method_decorator([decision_page, throttled_login], name="dispatch")
class LoginView(DjangoLoginView):
    template_name = "oauthcore/login.html"
    form_class = SignInForm
    redirect_authenticated_user = False

    def post(self, request, *args, **kwargs):
        """Home-realm discovery: an email whose domain an enterprise connection serves (and that the
        app waiting behind this page may use) goes to that connection's provider."""
        next_url = self.get_redirect_url()
        connection = connection_for_email(request.POST.get("username", ""), application_of_next(next_url))
        if connection is not None:
            return redirect(start_url(connection, next_url))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        """The password is right: a user who needs a second factor is not logged in yet
        (``oauthcore.views.mfa``); any other is, having used a password."""
        user, next_url = form.get_user(), self.get_success_url()
        step = second_step(user, acr_mfa=next_asks_mfa(next_url))
        if step is not None:
            return begin_second_step(self.request, user, next_url=next_url, step=step)
        response = super().form_valid(form)
        remember_methods(self.request, [PASSWORD])
        return response

    def get_context_data(self, **kwargs):
        next_url = self.get_redirect_url()
        application, organization = application_of_next(next_url), organization_of_next(next_url)
        return super().get_context_data(**kwargs) | {
            "tenant_name": TenantSettings.load().friendly_name,
            "organization": organization,
            "enterprise_connections": enterprise_connections_for(application, organization),
            "signup_offered": organization is None and signup_connection(application) is not None,
        }


@method_decorator(decision_page, name="dispatch")
class LogoutView(View):
    """GET asks, POST logs out (a GET must not end a session: anyone could link to it)."""

    def get(self, request):
        return render(request, "oauthcore/logout.html")

    def post(self, request):
        logout(request)
        return render(request, "oauthcore/logout.html")
