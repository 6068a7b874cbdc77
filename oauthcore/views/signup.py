"""Sign-up at the login page, into the database connection, when it allows sign-up and is open to
the app waiting behind the login page. The answer is the same "check your email" page whether the
address was free or not (``oauthcore.services.account_signup``); rate limited per caller and per
address. The user is not signed in by the sign-up: the verification link proves the address, then
they log in (signing in here at once would tell an address's owner from a newcomer).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View

from oauthcore.constants import DATABASE_CONNECTION_NAME
from oauthcore.database_connection import password_help, signup_allowed
from oauthcore.federation.discovery import application_of_next, connection_open_to
from oauthcore.models import Connection
from oauthcore.services.account_signup import account_sign_up
from oauthcore.views.account_links import email_rate_check, safe_next, tenant_context, too_many
from portal.platform.csp import decision_page


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, max_length=4096, strip=False)


def signup_connection(application) -> Connection | None:
    """The database connection users may sign up into from this login page, if any."""
    connection = Connection.objects.filter(name=DATABASE_CONNECTION_NAME).first()
    if connection is None or not signup_allowed(connection) or not connection_open_to(connection, application):
        return None
    return connection


@method_decorator(decision_page, name="dispatch")
class SignUpView(View):
    template = "oauthcore/account_signup.html"

    def _context(self, form, next_url, connection) -> dict:
        return tenant_context() | {"form": form, "next": next_url, "password_help": password_help(connection)}

    def get(self, request):
        next_url = safe_next(request)
        connection = signup_connection(application_of_next(next_url))
        if connection is None:
            return render(
                request, "oauthcore/account_signup_closed.html", tenant_context() | {"next": next_url}, status=404
            )
        return render(request, self.template, self._context(SignUpForm(), next_url, connection))

    def post(self, request):
        next_url = safe_next(request)
        application = application_of_next(next_url)
        connection = signup_connection(application)
        if connection is None:
            return render(
                request, "oauthcore/account_signup_closed.html", tenant_context() | {"next": next_url}, status=404
            )
        form = SignUpForm(request.POST)
        context = self._context(form, next_url, connection)
        if not form.is_valid():
            return render(request, self.template, context, status=400)
        if wait := email_rate_check(request, form.cleaned_data["email"]):
            return too_many(request, self.template, context, wait)
        try:
            account_sign_up(
                connection=connection,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                application=application,
                next_url=next_url,
            )
        except ValidationError as exc:
            form.add_error("password", exc.messages)
            return render(request, self.template, context, status=400)
        return render(
            request, "oauthcore/account_check_email.html", tenant_context() | {"purpose": "signup", "next": next_url}
        )
