"""The pages an end user reaches from the login page or an emailed link: forgot password, the
new-password form of a reset link, and the confirmation of a verification or email change link.

The forgot-password answer is the same whether the address has an account or not; it is rate limited
per address typed and per caller. Each flow ends by the redirection rule (``oauthcore.account_flows``).
"""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View

from oauthcore.account_flows import link_flow_end
from oauthcore.database_connection import password_help
from oauthcore.federation.discovery import application_of_next
from oauthcore.models import AccountLinkPurpose, TenantSettings
from oauthcore.services.account_links import (
    AccountLinkRefused,
    account_link_find,
    email_change_check,
    email_change_redeem,
    email_verify_redeem,
    password_reset_check,
    password_reset_redeem,
    password_reset_request,
)
from oauthcore.throttle import ACCOUNT_EMAIL, ACCOUNT_EMAIL_IP, client_address, retry_message
from portal.platform.csp import decision_page


class EmailForm(forms.Form):
    email = forms.EmailField(max_length=254)


class NewPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, max_length=4096, strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput, max_length=4096, strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data


def safe_next(request) -> str:
    """The ``next`` the login page carries, kept only when it is a path on this server."""
    value = request.POST.get("next") or request.GET.get("next") or ""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else ""


def email_rate_check(request, email: str) -> int:
    """Seconds to wait (0: go on). Counted per caller and per address typed, known or not."""
    for verdict in (ACCOUNT_EMAIL_IP.hit(client_address(request)), ACCOUNT_EMAIL.hit(email.strip().lower())):
        if not verdict:
            return verdict.retry_after
    return 0


def too_many(request, template: str, context: dict, retry_after: int):
    form = context["form"]
    form.add_error(None, retry_message(retry_after))
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def tenant_context() -> dict:
    return {"tenant_name": TenantSettings.load().friendly_name}


def refused_page(request, refused: AccountLinkRefused):
    return render(
        request,
        "oauthcore/account_link_gone.html",
        tenant_context() | {"message": refused.message},
        status=refused.status,
    )


@method_decorator(decision_page, name="dispatch")
class PasswordResetRequestView(View):
    template = "oauthcore/account_password_reset_request.html"

    def get(self, request):
        return render(request, self.template, tenant_context() | {"form": EmailForm(), "next": safe_next(request)})

    def post(self, request):
        next_url = safe_next(request)
        form = EmailForm(request.POST)
        context = tenant_context() | {"form": form, "next": next_url}
        if not form.is_valid():
            return render(request, self.template, context, status=400)
        email = form.cleaned_data["email"]
        if wait := email_rate_check(request, email):
            return too_many(request, self.template, context, wait)
        password_reset_request(email=email, application=application_of_next(next_url), next_url=next_url)
        return render(
            request, "oauthcore/account_check_email.html", tenant_context() | {"purpose": "reset", "next": next_url}
        )


@method_decorator(decision_page, name="dispatch")
class PasswordResetView(View):
    template = "oauthcore/account_password_reset.html"

    def _context(self, link, form) -> dict:
        return tenant_context() | {
            "form": form,
            "email": link.user.email,
            "password_help": password_help(link.user.connection),
        }

    def get(self, request, token: str):
        try:
            link = password_reset_check(token=token)
        except AccountLinkRefused as refused:
            return refused_page(request, refused)
        return render(request, self.template, self._context(link, NewPasswordForm()))

    def post(self, request, token: str):
        try:
            link = password_reset_check(token=token)
        except AccountLinkRefused as refused:
            return refused_page(request, refused)
        form = NewPasswordForm(request.POST)
        if form.is_valid():
            try:
                link = password_reset_redeem(token=token, password=form.cleaned_data["password"])
            except AccountLinkRefused as refused:
                return refused_page(request, refused)
            except ValidationError as exc:
                form.add_error("password", exc.messages)
            else:
                return render(
                    request,
                    "oauthcore/account_link_done.html",
                    tenant_context() | {"purpose": "reset", "end": link_flow_end(link), "email": link.user.email},
                )
        return render(request, self.template, self._context(link, form), status=400)


@method_decorator(decision_page, name="dispatch")
class VerifyEmailView(View):
    """GET asks (a mail scanner opening the link uses nothing up), POST verifies."""

    template = "oauthcore/account_verify.html"

    def get(self, request, token: str):
        try:
            link = account_link_find(token, purpose=AccountLinkPurpose.VERIFY_EMAIL)
        except AccountLinkRefused as refused:
            return self._refused(request, refused)
        return render(request, self.template, tenant_context() | {"email": link.email})

    def post(self, request, token: str):
        try:
            link = email_verify_redeem(token=token)
        except AccountLinkRefused as refused:
            return self._refused(request, refused)
        return render(
            request,
            "oauthcore/account_link_done.html",
            tenant_context() | {"purpose": "verify", "end": link_flow_end(link), "email": link.email},
        )

    def _refused(self, request, refused: AccountLinkRefused):
        link = refused.link
        if (
            link is not None
            and link.used_at is not None
            and link.user.email_verified
            and _same(link.email, link.user.email)
        ):
            return render(
                request,
                "oauthcore/account_link_done.html",
                tenant_context()
                | {"purpose": "verify", "end": link_flow_end(link), "email": link.email, "again": True},
            )
        return refused_page(request, refused)


@method_decorator(decision_page, name="dispatch")
class EmailChangeConfirmView(View):
    """The link sent to a new address: GET asks (a mail scanner opening it changes nothing), POST
    makes the address the account's. Another account holding it verified by now is a 409 page."""

    template = "oauthcore/account_change_email.html"

    def get(self, request, token: str):
        try:
            link = email_change_check(token=token)
        except AccountLinkRefused as refused:
            return refused_page(request, refused)
        return render(request, self.template, tenant_context() | {"email": link.email})

    def post(self, request, token: str):
        try:
            link = email_change_redeem(token=token)
        except AccountLinkRefused as refused:
            return refused_page(request, refused)
        return render(
            request,
            "oauthcore/account_link_done.html",
            tenant_context() | {"purpose": "change_email", "end": link_flow_end(link), "email": link.email},
        )


def _same(a: str, b: str) -> bool:
    return get_user_model().objects.normalize_email(a).lower() == get_user_model().objects.normalize_email(b).lower()
