"""Discovery documents (OpenID Connect and RFC 8414) and the JWKS: what is supported, exactly."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from oauthcore.conf import portcullis_settings
from oauthcore.constants import MFA_ACR
from oauthcore.keys import active_signing_key, published_keys
from oauthcore.models import TenantSettings
from oauthcore.validator import PolicyValidator
from oauthcore.views.authorize import RESPONSE_MODES

OIDC_SCOPES = ["openid", "profile", "email", "offline_access"]
# What every ID token carries besides the user's claims (OpenID Connect Core §2, §3.1.3.6; ``jti``
# is django-oauth-toolkit's, the key of its IDToken row), then the user's claims as the validator
# emits them in ID tokens and at /userinfo, by scope.
ID_TOKEN_CLAIMS = ["iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "jti"]
CLAIMS = [*ID_TOKEN_CLAIMS, *PolicyValidator.oidc_claim_scope]


def server_metadata() -> dict:
    issuer = portcullis_settings.issuer
    tenant = TenantSettings.load()
    metadata = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "device_authorization_endpoint": f"{issuer}/oauth/device/code",
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": OIDC_SCOPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": CLAIMS,
        # acr_values=<this> at /authorize asks for a second factor (oauthcore.mfa_login).
        "acr_values_supported": [MFA_ACR],
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        # RFC 8707: `resource` names the API (as Auth0's `audience`; one per token), the token's `aud`.
        "resource_indicators_supported": True,
        "client_id_metadata_document_supported": tenant.enable_client_id_metadata_documents,
    }
    if tenant.enable_dynamic_client_registration:
        metadata["registration_endpoint"] = f"{issuer}/oidc/register"
    return metadata


def _json(data: dict) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def openid_configuration(request):
    return _json(server_metadata())


@require_GET
def oauth_authorization_server(request):
    return _json(server_metadata())


@require_GET
def jwks(request):
    active_signing_key()  # a fresh install publishes a key before it signs the first token
    return _json({"keys": published_keys()})
