"""``POST /oidc/register`` (RFC 7591) and ``/oidc/register/<client_id>`` (RFC 7592).

django-oauth-toolkit 3.4 has registration views, but they register one grant type per app,
build the Application outside Portcullis' service (no ``tpc_`` id, no strict mode, no audit),
and keep the registration access token as an AccessToken with an empty ``resource``, which DOT
treats as valid for every API. These views answer with the same wire format, over
``oauthcore.services.registration``.
"""

import json

from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from oauthcore.conf import portcullis_settings
from oauthcore.models import Application, TenantSettings
from oauthcore.services.registration import (
    Registration,
    RegistrationError,
    registered_application,
    registration_create,
    registration_delete,
    registration_update,
)
from oauthcore.throttle import REGISTRATION, too_many_requests_json
from portal.platform.caching import never_stored


def registration_client_uri(application: Application) -> str:
    return f"{portcullis_settings.issuer}/oidc/register/{application.client_id}"


def client_information(registration: Registration) -> dict:
    """RFC 7591 §3.2.1: the client's metadata as registered, with its credentials when just issued."""
    application = registration.application
    body = {
        "client_id": application.client_id,
        "client_id_issued_at": int(application.created.timestamp()),
        "client_name": application.name,
        "redirect_uris": application.callbacks,
        "grant_types": application.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": application.token_endpoint_auth_method,
        "application_type": "native" if application.app_type == "native" else "web",
        "registration_client_uri": registration_client_uri(application),
    }
    if application.logo_uri:
        body["logo_uri"] = application.logo_uri
    for name, value in application.client_metadata.items():
        body[name] = value.split() if name == "contacts" else value
    if registration.client_secret:
        body["client_secret"] = registration.client_secret
    if application.is_confidential:
        body["client_secret_expires_at"] = 0  # secrets do not expire (Auth0: "always 0")
    if registration.registration_access_token:
        body["registration_access_token"] = registration.registration_access_token
    return body


def error(error: str, description: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def too_large(request) -> JsonResponse | None:
    """413 for a body over ``REGISTRATION_MAX_BODY_BYTES``, judged by its declared length: no
    metadata document of that size is legitimate, so it is neither parsed nor checked."""
    limit = portcullis_settings.REGISTRATION_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0  # Django reads no body then either
    if declared <= limit:
        return None
    return error("invalid_client_metadata", f"The client metadata must be at most {limit} bytes.", 413)


def read_json(request):
    if request.content_type != "application/json":
        raise RegistrationError("invalid_client_metadata", "Send the client metadata as application/json.")
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: arrays nested too deep
        raise RegistrationError("invalid_client_metadata", "The request body is not valid JSON.") from exc


# RFC 7591 §3.2.1 and RFC 7592 §3: the answers carry the client secret and the registration access token.
@method_decorator([csrf_exempt, never_stored], name="dispatch")
class RegisterView(View):
    """Open registration: no initial access token, as Auth0's "open dynamic registration"."""

    http_method_names = ["post", "options"]

    def post(self, request):
        if not TenantSettings.load().enable_dynamic_client_registration:
            return error("access_denied", "Dynamic client registration is not enabled for this tenant.", 403)
        verdict = REGISTRATION.hit("tenant")  # one allowance for the whole tenant, as Auth0's
        if not verdict:
            return too_many_requests_json(request, verdict.retry_after)
        if oversized := too_large(request):
            return oversized
        try:
            registration = registration_create(data=read_json(request))
        except RegistrationError as exc:
            return JsonResponse(exc.as_json(), status=400)
        response = JsonResponse(client_information(registration), status=201)
        response["Location"] = registration_client_uri(registration.application)
        return response


@method_decorator([csrf_exempt, never_stored], name="dispatch")
class RegistrationManagementView(View):
    """RFC 7592: read, replace or delete a registration with its registration access token."""

    http_method_names = ["get", "put", "delete"]

    def dispatch(self, request, client_id: str):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            response = error("invalid_token", "A registration access token is required.", 401)
            response["WWW-Authenticate"] = 'Bearer realm="registration"'
            return response
        application = registered_application(client_id=client_id, token=token.strip())
        if application is None:
            # RFC 7592 §2: an unknown client and a wrong token look the same.
            response = error("invalid_token", "The registration access token is not valid for this client.", 401)
            response["WWW-Authenticate"] = 'Bearer realm="registration", error="invalid_token"'
            return response
        if not TenantSettings.load().enable_dynamic_client_registration:
            return error("access_denied", "Dynamic client registration is not enabled for this tenant.", 403)
        self.application = application
        return super().dispatch(request, client_id)

    def get(self, request, client_id: str):
        return JsonResponse(client_information(Registration(self.application, None, None)))

    def put(self, request, client_id: str):
        if oversized := too_large(request):
            return oversized
        try:
            registration = registration_update(application=self.application, data=read_json(request))
        except RegistrationError as exc:
            return JsonResponse(exc.as_json(), status=400)
        return JsonResponse(client_information(registration))

    def delete(self, request, client_id: str):
        registration_delete(application=self.application)
        return HttpResponse(status=204)
