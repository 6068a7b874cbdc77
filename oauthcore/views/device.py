"""The device authorization grant (RFC 8628): ``POST /oauth/device/code`` and the ``/activate`` page.

django-oauth-toolkit 3.4 has device views, but its DeviceGrant keeps no API (``resource``), its
confirmation page is not the consent screen and records no consent, and its polling has no
``slow_down``. Here the device names its API up front, the policy decides before a code is issued,
the user answers on the same consent screen as ``/authorize`` (recorded as a UserGrant), and the
token endpoint's polling goes through ``services.device.device_grant_poll``.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors

from oauthcore import ratelimit
from oauthcore.conf import portcullis_settings
from oauthcore.constants import GrantType
from oauthcore.models import Application
from oauthcore.oauthlib_core import CLIENT_CHALLENGE, FormOrJSONOAuthLibCore, reject_repeated_parameters
from oauthcore.policy import Flow
from oauthcore.request_context import context_of
from oauthcore.selectors import app_is_unverified, decide_stored
from oauthcore.services.device import (
    device_grant_answer,
    device_grant_create,
    format_user_code,
    pending_device_grant,
)
from oauthcore.validator import PolicyValidator, audit_denial
from oauthcore.views.authorize import CONSENT_TEMPLATE, ERROR_TEMPLATE, consent_context
from portal.platform.csp import decision_page

ACTIVATE_TEMPLATE = "oauthcore/activate.html"
DONE_TEMPLATE = "oauthcore/device_done.html"
# RFC 8628 §5.1: user codes are short, so guessing them is rate limited per user.
USER_CODE_RATE = ratelimit.Rate.parse("10/m")


def verification_uri() -> str:
    return f"{portcullis_settings.issuer}/activate"


def oauth_error(exc: errors.OAuth2Error) -> JsonResponse:
    response = JsonResponse(json.loads(exc.json), status=exc.status_code)
    for name, value in exc.headers.items():
        response[name] = value
    if isinstance(exc, errors.InvalidClientError):
        response["WWW-Authenticate"] = CLIENT_CHALLENGE  # RFC 6749 §5.2, as at the token endpoint
    return response


@method_decorator([csrf_exempt, never_cache], name="dispatch")
class DeviceAuthorizationView(View):
    """``POST /oauth/device/code``: the client, its grant type, its API and scopes, decided now."""

    http_method_names = ["post"]

    def post(self, request):
        uri, http_method, body, headers = FormOrJSONOAuthLibCore()._extract_params(request)
        oauthlib_request = OAuthlibRequest(uri, http_method=http_method, body=body, headers=headers)
        # django-oauth-toolkit lets a public client in by its id only for this grant type.
        oauthlib_request.grant_type = GrantType.DEVICE_CODE.value
        validator = PolicyValidator()
        try:
            reject_repeated_parameters(oauthlib_request)
        except errors.OAuth2Error as exc:
            return oauth_error(exc)
        if not validator.authenticate_client(oauthlib_request):
            return oauth_error(errors.InvalidClientError(request=oauthlib_request))
        client = oauthlib_request.client
        try:
            validator.validate_grant_type(client.client_id, GrantType.DEVICE_CODE.value, client, oauthlib_request)
            scopes = (oauthlib_request.scope or "").split()
            validator.validate_scopes(client.client_id, scopes, client, oauthlib_request)
        except errors.OAuth2Error as exc:
            return oauth_error(exc)
        decision = context_of(oauthlib_request).decision
        grant = device_grant_create(application=client, audience=decision.audience, scopes=decision.scopes)
        user_code = format_user_code(grant.user_code)
        return JsonResponse(
            {
                "device_code": grant.device_code,
                "user_code": user_code,
                "verification_uri": verification_uri(),
                "verification_uri_complete": f"{verification_uri()}?user_code={user_code}",
                "expires_in": portcullis_settings.DEVICE_CODE_LIFETIME,
                "interval": grant.interval,
            }
        )


def _code_form(request, user_code: str, error: str = "", status: int = 200):
    return render(request, ACTIVATE_TEMPLATE, {"user_code": user_code, "error": error}, status=status)


@never_cache
@decision_page
@login_required
@require_http_methods(["GET", "POST"])
def activate(request):
    """The user types the code their device shows, then answers the consent screen for it."""
    if request.method == "GET":
        return _code_form(request, request.GET.get("user_code", ""))
    user_code = request.POST.get("user_code", "")
    verdict = ratelimit.hit("device_user_code", str(request.user.pk), USER_CODE_RATE)
    if not verdict:
        return _code_form(request, user_code, "Too many attempts: wait a minute and try again.", 429)
    grant = pending_device_grant(user_code)
    if grant is None:
        return _code_form(request, user_code, "That code is not valid or has expired. Check your device.", 400)
    application = Application.objects.select_related("partner_link__partner").get(client_id=grant.client_id)
    decision = decide_stored(
        application=application,
        audience=grant.audience,
        scopes=grant.scope.split(),
        flow=Flow.DEVICE_CODE,
        user=request.user,
    )
    if decision.denied:  # e.g. a user of a connection this third-party app cannot use
        audit_denial(decision, application, Flow.DEVICE_CODE)
        device_grant_answer(grant=grant, user=request.user, approved_scopes=())
        context = {
            "error": decision.error,
            "description": decision.description,
            "application": application,
            "unverified": app_is_unverified(application),
        }
        return render(request, ERROR_TEMPLATE, context, status=400)

    answer = request.POST.get("decision")
    if answer is None:
        context = consent_context(
            request,
            application,
            audience=decision.audience,
            to_consent=decision.scopes,
            already_granted=(),
            form_action=request.path,
            hidden=[("user_code", format_user_code(grant.user_code))],
        )
        context["device_user_code"] = format_user_code(grant.user_code)
        return render(request, CONSENT_TEMPLATE, context)
    approved = frozenset(request.POST.getlist("scope")) & decision.scopes if answer == "accept" else frozenset()
    answered = device_grant_answer(grant=grant, user=request.user, approved_scopes=approved)
    if answered is None:
        return _code_form(request, "", "That code has already been used or has expired.", 400)
    context = {"application": application, "unverified": app_is_unverified(application), "approved": bool(approved)}
    return render(request, DONE_TEMPLATE, context)
