"""``/account/security``: a signed-in user's second factors. They enroll an authenticator app or a
passkey, see their recovery codes once, make new ones, and remove a factor.

Removing a factor or replacing the recovery codes weakens the account, so it needs a recent
authentication: a login within ``RECENT_LOGIN`` or the account's password typed in the form.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from oauthcore.audit import Actor
from oauthcore.models import Authenticator, AuthenticatorKind
from oauthcore.services.mfa import (
    MfaError,
    authenticator_remove,
    confirmed_factors,
    logged_in_recently,
    passkey_register,
    passkey_registration_options,
    recovery_codes_regenerate,
    totp_enroll_confirm_counted,
    totp_enroll_start,
    totp_pending_enrollment,
    unused_recovery_codes,
)
from portal.platform.csp import decision_page

REGISTRATION_CHALLENGE_KEY = "portcullis_passkey_registration_challenge"
SECURITY_PAGE = "account-security"

account_page = [login_required, never_cache, decision_page]


def recently_authenticated(request) -> bool:
    return logged_in_recently(request.user)


def reauthenticated(request) -> bool:
    """A login within RECENT_LOGIN, or the account's password typed now."""
    return recently_authenticated(request) or request.user.check_password(request.POST.get("password", ""))


def _codes_page(request, codes: list[str]):
    if not codes:
        return redirect(SECURITY_PAGE)
    return render(request, "oauthcore/mfa_recovery_codes.html", {"codes": codes, "next": "/account/security"})


@method_decorator(account_page, name="dispatch")
class SecurityView(View):
    def get(self, request, *, error: str = "", status: int = 200):
        factors = list(confirmed_factors(request.user))
        context = {
            "factors": factors,
            "has_totp": any(factor.kind == AuthenticatorKind.TOTP for factor in factors),
            "recovery_codes_left": unused_recovery_codes(request.user),
            "needs_password": not recently_authenticated(request),
            "error": error,
        }
        return render(request, "oauthcore/account_security.html", context, status=status)


@method_decorator(account_page, name="dispatch")
class TotpEnrollView(View):
    template_name = "oauthcore/account_totp.html"

    def get(self, request):
        try:
            enrollment = totp_enroll_start(actor=Actor.user(request.user), user=request.user)
        except MfaError as exc:
            return SecurityView().get(request, error=str(exc), status=409)
        return render(request, self.template_name, {"enrollment": enrollment})

    def post(self, request):
        enrollment = totp_pending_enrollment(request.user)
        if enrollment is None:
            return redirect("account-security-totp")
        try:
            codes = totp_enroll_confirm_counted(
                actor=Actor.user(request.user), user=request.user, code=request.POST.get("code", "")
            )
        except MfaError as exc:
            locked, error = getattr(exc, "retry_after", 0), str(exc)
        else:
            messages.success(request, "Your authenticator app is set up.")
            return _codes_page(request, codes)
        context = {"enrollment": enrollment, "error": error}
        return render(request, self.template_name, context, status=429 if locked else 400)


@method_decorator(account_page, name="dispatch")
class PasskeyEnrollView(View):
    template_name = "oauthcore/account_passkey.html"

    def get(self, request, *, error: str = "", status: int = 200):
        options, challenge = passkey_registration_options(request.user)
        request.session[REGISTRATION_CHALLENGE_KEY] = challenge
        context = {"passkey_options": json.loads(options), "error": error}
        return render(request, self.template_name, context, status=status)

    def post(self, request):
        challenge = request.session.pop(REGISTRATION_CHALLENGE_KEY, None)
        if not challenge:
            return redirect("account-security-passkey")
        try:
            codes = passkey_register(
                actor=Actor.user(request.user),
                user=request.user,
                credential=request.POST.get("credential", ""),
                challenge=challenge,
                name=request.POST.get("name", "").strip() or "Passkey",
            )
        except MfaError as exc:
            return self.get(request, error=str(exc), status=400)
        messages.success(request, "Your passkey is registered.")
        return _codes_page(request, codes)


@method_decorator(account_page, name="dispatch")
class RemoveFactorView(View):
    def post(self, request, pk: int):
        authenticator = get_object_or_404(Authenticator, pk=pk, user=request.user, confirmed_at__isnull=False)
        if not reauthenticated(request):
            return SecurityView().get(request, error="Type your password to remove a factor.", status=403)
        authenticator_remove(actor=Actor.user(request.user), authenticator=authenticator)
        messages.success(request, f"{authenticator} was removed.")
        return redirect(SECURITY_PAGE)


@method_decorator(account_page, name="dispatch")
class RecoveryCodesView(View):
    def post(self, request):
        if not reauthenticated(request):
            return SecurityView().get(request, error="Type your password to make new recovery codes.", status=403)
        try:
            codes = recovery_codes_regenerate(actor=Actor.user(request.user), user=request.user)
        except MfaError as exc:
            return SecurityView().get(request, error=str(exc), status=409)
        return _codes_page(request, codes)
