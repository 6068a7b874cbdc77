"""The second step of a login at ``/login/mfa``: a code of the user's authenticator app, a
recovery code or a passkey; and the enrollment a login requires when the user has no factor yet.

The session is logged in (``login()``) only once the factor passed (``oauthcore.mfa_login``).
Wrong answers count per account (``throttle.MFA_LOCKOUT``): at the limit the account's second step
is refused, answered 429 with ``Retry-After``, until the lockout ends.
"""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache

from oauthcore.audit import Actor
from oauthcore.mfa_login import (
    ENROLL,
    HARDWARE_KEY,
    OTP,
    PASSWORD,
    VERIFY,
    clear_pending,
    pending,
    remember_methods,
    session_methods,
    start_pending,
    with_second_factor,
)
from oauthcore.models import AuthenticatorKind
from oauthcore.services.mfa import (
    MfaError,
    confirmed_factors,
    has_second_factor,
    mfa_lockout_key,
    passkey_authentication_options,
    passkey_verify,
    recovery_code_use,
    totp_enroll_confirm_counted,
    totp_enroll_start,
    totp_pending_enrollment,
    totp_verify,
    unused_recovery_codes,
)
from oauthcore.signin import forget_failures
from oauthcore.throttle import MFA_LOCKOUT, retry_message
from portal.platform.csp import decision_page

PASSKEY_CHALLENGE_KEY = "portcullis_mfa_passkey_challenge"


def begin_second_step(request, user, *, next_url: str, step: str, methods: list[str] | None = None):
    """The first factor passed (the password, by default, or an enterprise provider's login): the
    login waits for the second factor (or its enrollment)."""
    forget_failures(request)
    start_pending(request, user, next_url=next_url, step=step, methods=[PASSWORD] if methods is None else methods)
    return redirect("login-mfa-enroll" if step == ENROLL else "login-mfa")


def second_step_url(next_url: str) -> str:
    """Where ``/authorize`` sends a signed-in session that still needs a second factor."""
    return f"{reverse('login-mfa')}?{urlencode({'next': next_url})}"


def _state(request) -> dict | None:
    """The pending step; for a session already signed in (a step-up asked for by ``/authorize``),
    one made for its user."""
    state = pending(request)
    if state is not None or not request.user.is_authenticated:
        return state
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return None
    step = VERIFY if has_second_factor(request.user) else ENROLL
    start_pending(request, request.user, next_url=next_url, step=step, methods=session_methods(request))
    return pending(request)


def _user(state: dict):
    return get_user_model().objects.filter(pk=state["user"], is_active=True).first()


def _complete(request, state: dict, user, factor: str | None) -> str:
    """Log the session in (or, for a step-up, renew its key) with the methods used; where to go next."""
    methods = with_second_factor(state["methods"], factor)
    clear_pending(request)
    request.session.pop(PASSKEY_CHALLENGE_KEY, None)
    if request.user.is_authenticated and request.user.pk == user.pk:
        request.session.cycle_key()
    else:
        login(request, user, backend=state["backend"] or settings.AUTHENTICATION_BACKENDS[0])
    remember_methods(request, methods)
    return state["next"] or resolve_url(settings.LOGIN_REDIRECT_URL)


@method_decorator([never_cache, decision_page], name="dispatch")
class SecondFactorView(View):
    """``/login/mfa``: the user proves the second factor."""

    template_name = "oauthcore/mfa_verify.html"

    def get(self, request):
        state = _state(request)
        if state is None:
            return redirect(settings.LOGIN_URL)
        if state["step"] == ENROLL:
            return redirect("login-mfa-enroll")
        user = _user(state)
        if user is None:
            clear_pending(request)
            return redirect(settings.LOGIN_URL)
        return self.page(request, user)

    def post(self, request):
        state = pending(request)
        user = _user(state) if state is not None and state["step"] == VERIFY else None
        if user is None:
            return redirect(settings.LOGIN_URL)
        key = mfa_lockout_key(user)
        locked = MFA_LOCKOUT.locked_for(key)
        if locked:
            return self.page(request, user, error=retry_message(locked), status=429, retry_after=locked)
        method = request.POST.get("method", "")
        passed, factor = self.check(request, user, method)
        if not passed:
            locked = MFA_LOCKOUT.failure(key)
            if locked:
                return self.page(request, user, error=retry_message(locked), status=429, retry_after=locked)
            error = {
                "otp": "That code is not right, or it was used already. Wait for the next one and try again.",
                "recovery": "That recovery code is not right, or it was used already.",
                "passkey": "Your passkey was not accepted. Try again.",
            }.get(method, "Choose a way to confirm it is you.")
            return self.page(request, user, error=error, method=method, status=400)
        MFA_LOCKOUT.success(key)
        return redirect(_complete(request, state, user, factor))

    @staticmethod
    def check(request, user, method: str) -> tuple[bool, str | None]:
        if method == "otp":
            return totp_verify(user=user, code=request.POST.get("code", "")), OTP
        if method == "recovery":
            return recovery_code_use(user=user, code=request.POST.get("recovery_code", "")), None
        if method == "passkey":
            challenge = request.session.pop(PASSKEY_CHALLENGE_KEY, None)
            credential = request.POST.get("credential", "")
            passed = bool(challenge and credential) and passkey_verify(
                user=user, credential=credential, challenge=challenge
            )
            return passed, HARDWARE_KEY
        return False, None

    def page(self, request, user, *, error: str = "", method: str = "", status: int = 200, retry_after: int = 0):
        kinds = set(confirmed_factors(user).values_list("kind", flat=True))
        context = {
            "has_totp": AuthenticatorKind.TOTP in kinds,
            "has_passkey": AuthenticatorKind.WEBAUTHN in kinds,
            "has_recovery_codes": unused_recovery_codes(user) > 0,
            "error": error,
            "method": method,
        }
        if context["has_passkey"]:
            options, challenge = passkey_authentication_options(user)
            request.session[PASSKEY_CHALLENGE_KEY] = challenge
            context["passkey_options"] = json.loads(options)
        response = render(request, self.template_name, context, status=status)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response


@method_decorator([never_cache, decision_page], name="dispatch")
class EnrollAtLoginView(View):
    """``/login/mfa/enroll``: the tenant (or the app, through ``acr_values``) requires a second factor
    and the user has none: they set up an authenticator app before the login goes on."""

    template_name = "oauthcore/mfa_enroll.html"

    def _user(self, request):
        state = _state(request)
        if state is None or state["step"] != ENROLL:
            return state, None
        return state, _user(state)

    def get(self, request):
        state, user = self._user(request)
        if user is None:
            return redirect("login-mfa" if state is not None else settings.LOGIN_URL)
        enrollment = totp_enroll_start(actor=Actor.user(user), user=user)
        return render(request, self.template_name, {"enrollment": enrollment})

    def post(self, request):
        state, user = self._user(request)
        if user is None:
            return redirect(settings.LOGIN_URL)
        enrollment = totp_pending_enrollment(user)
        if enrollment is None:
            return redirect("login-mfa-enroll")
        try:
            codes = totp_enroll_confirm_counted(actor=Actor.user(user), user=user, code=request.POST.get("code", ""))
        except MfaError as exc:
            locked, error = getattr(exc, "retry_after", 0), str(exc)
        else:
            next_url = _complete(request, state, user, OTP)
            if not codes:
                return redirect(next_url)
            return render(request, "oauthcore/mfa_recovery_codes.html", {"codes": codes, "next": next_url})
        response = render(
            request, self.template_name, {"enrollment": enrollment, "error": error}, status=429 if locked else 400
        )
        if locked:
            response["Retry-After"] = str(locked)
        return response
