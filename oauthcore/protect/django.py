"""Django views protected by Portcullis tokens, and the RFC 9728 metadata document.

Configure the API once in settings::

    PORTCULLIS_PROTECTED_RESOURCE = {
        "RESOURCE": "https://api.example.com/orders/",   # the API identifier: tokens' aud
        "ISSUER": "https://auth.example.com",            # the Portcullis server
        "SCOPES": ["read:orders", "write:orders"],       # advertised in the metadata
        "NAME": "Orders API",                            # optional
        "JWKS_MIN_REFETCH_SECONDS": 30,                  # optional: unknown kid -> refetch at most this often
    }

then decorate views with ``@require_token("read:orders")`` (``request.token`` is the verified
token) and add ``metadata_urlpatterns()`` to the root URLconf.
"""

import threading
from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from oauthcore.protect.core import JWKSCache, ProtectedResource, TokenError, TokenVerifier, bearer_token

_verifiers: dict[ProtectedResource, TokenVerifier] = {}
_lock = threading.Lock()


def resource_from_settings() -> ProtectedResource:
    config = getattr(settings, "PORTCULLIS_PROTECTED_RESOURCE", None) or {}
    if not config.get("RESOURCE") or not config.get("ISSUER"):
        raise RuntimeError("Set PORTCULLIS_PROTECTED_RESOURCE with RESOURCE and ISSUER to protect views.")
    return ProtectedResource(
        resource=config["RESOURCE"],
        issuer=config["ISSUER"],
        scopes_supported=tuple(config.get("SCOPES", ())),
        resource_name=config.get("NAME", ""),
        jwks_uri=config.get("JWKS_URI", ""),
    )


def verifier_for(resource: ProtectedResource) -> TokenVerifier:
    """One verifier (and so one JWKS cache) per protected resource, per process."""
    with _lock:
        verifier = _verifiers.get(resource)
        if verifier is None:
            config = getattr(settings, "PORTCULLIS_PROTECTED_RESOURCE", None) or {}
            refetch = int(config.get("JWKS_MIN_REFETCH_SECONDS", 30))
            keys = JWKSCache(resource.keys_url, min_refetch_seconds=refetch)
            verifier = _verifiers[resource] = TokenVerifier(resource, keys=keys)
        return verifier


def refusal(resource: ProtectedResource, failure: TokenError) -> JsonResponse:
    response = JsonResponse(resource.error_body(failure), status=failure.status)
    response["WWW-Authenticate"] = resource.challenge(failure)
    response["Cache-Control"] = "no-store"
    return response


def require_token(*scopes: str, resource: ProtectedResource | None = None):
    """Let the view run only for a valid token carrying every one of ``scopes``.

    Tokens come in the ``Authorization`` header, never in cookies, so the view is CSRF-exempt.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            protected = resource or resource_from_settings()
            try:
                token = bearer_token(request.headers.get("Authorization"))
                request.token = verifier_for(protected).verify(token, scopes)
            except TokenError as failure:
                return refusal(protected, failure)
            return view(request, *args, **kwargs)

        return csrf_exempt(wrapped)

    return decorator


def metadata_view(resource: ProtectedResource | None = None):
    def view(request):
        response = JsonResponse((resource or resource_from_settings()).metadata())
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = "public, max-age=3600"
        return response

    return view


def metadata_urlpatterns(resource: ProtectedResource | None = None) -> list:
    """The RFC 9728 document at ``/.well-known/oauth-protected-resource/<the resource's path>``."""
    protected = resource or resource_from_settings()
    return [path(protected.metadata_path.lstrip("/"), metadata_view(protected), name="protected-resource-metadata")]
