"""End-user login and logout (username or email, and a password)."""

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View

from oauthcore.models import TenantSettings
from oauthcore.signin import throttled_login
from portal.platform.csp import decision_page


@method_decorator([decision_page, throttled_login], name="dispatch")
class LoginView(DjangoLoginView):
    template_name = "oauthcore/login.html"
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
