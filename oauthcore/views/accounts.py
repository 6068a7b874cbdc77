"""End-user login and logout (username or email, and a password)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.core.validators import MaxLengthValidator
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View

from oauthcore.models import TenantSettings
from oauthcore.signin import throttled_login
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
    pass


class AdminSignInForm(BoundedLoginName, AdminAuthenticationForm):
    pass


@method_decorator([decision_page, throttled_login], name="dispatch")
class LoginView(DjangoLoginView):
    template_name = "oauthcore/login.html"
    form_class = SignInForm
    redirect_authenticated_user = False

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"tenant_name": TenantSettings.load().friendly_name}


@method_decorator(decision_page, name="dispatch")
class LogoutView(View):
    """GET asks, POST logs out (a GET must not end a session: anyone could link to it)."""

    def get(self, request):
        return render(request, "oauthcore/logout.html")

    def post(self, request):
        logout(request)
        return render(request, "oauthcore/logout.html")
