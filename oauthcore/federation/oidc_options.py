"""An ``oidc`` connection's options, in Auth0's shape: checked, normalised, and the provider's
discovery document fetched and kept with them as ``oidc_metadata``.

Stored options (the secret ``client_secret`` is sealed apart and never returned)::

    {"type": "back_channel", "discovery_url": ".../.well-known/openid-configuration", "issuer": "...",
     "client_id": "...", "scope": "openid profile email", "token_endpoint_auth_method": "client_secret_basic",
     "domain_aliases": ["acme.com"], "icon_url": "https://...",
     "attribute_map": {"mapping_mode": "basic_profile"},
     "oidc_metadata": {"issuer": "...", "authorization_endpoint": "...", "token_endpoint": "...", ...}}

The discovery document is fetched at every check (create and update), so a provider that moved its
endpoints is followed by saving the connection again; sign-ins only read the stored copy.
"""

import re

from oauthcore.federation.base import FederationError, OptionsCheck
from oauthcore.federation.common_options import domain_aliases, icon_url_error, provider_url_error
from oauthcore.federation.http import get_json, quoted
from oauthcore.federation.oidc_claims import attribute_map_error, normalised_attribute_map
from oauthcore.sealed import SealBroken

WELL_KNOWN = "/.well-known/openid-configuration"
DEFAULT_SCOPE = "openid profile email"
# Only the authorization code flow, with the client secret at the token endpoint, is served.
BACK_CHANNEL, FRONT_CHANNEL = "back_channel", "front_channel"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# Asymmetric signatures only: an HS* ID token is keyed with the client secret, which we share
# with whoever else holds it, and "none" is no signature at all.
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "PS256")
# What is kept of the discovery document (bounded: the rest is never used).
METADATA_FIELDS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "end_session_endpoint",
    "response_types_supported",
    "grant_types_supported",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
    "id_token_signing_alg_values_supported",
    "scopes_supported",
    "claims_supported",
    "authorization_response_iss_parameter_supported",
)
KNOWN_OPTIONS = {
    "type",
    "discovery_url",
    "issuer",
    "client_id",
    "client_secret",
    "scope",
    "token_endpoint_auth_method",
    "domain_aliases",
    "icon_url",
    "attribute_map",
    "oidc_metadata",
}
SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 section 3.3
SECRET_REQUIRED = "Required: the client secret the provider issued for Portcullis."  # noqa: S105 (a message)
SECRET_TOO_LONG = "At most 1024 characters."  # noqa: S105 (a message)


def check_options(options: dict, *, current) -> OptionsCheck:
    errors: dict[str, str] = {}
    if not isinstance(options, dict):
        return OptionsCheck({}, {}, {"options": "Must be an object."})
    for name in sorted(set(options) - KNOWN_OPTIONS):
        errors[name] = "Unknown option for an oidc connection."
    result: dict = {}

    kind = options.get("type") or BACK_CHANNEL
    if kind == FRONT_CHANNEL:
        errors["type"] = (
            "front_channel (the ID token sent through the browser) is not served: use back_channel "
            "(authorization code with PKCE and the client secret)."
        )
    elif kind != BACK_CHANNEL:
        errors["type"] = "Must be back_channel."
    result["type"] = BACK_CHANNEL

    client_id = options.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 255:
        errors["client_id"] = "Required: the client ID the provider issued for Portcullis."
    else:
        result["client_id"] = client_id.strip()

    secrets = _secrets(options, current, errors)
    _scope(options, result, errors)
    _domain_aliases(options, result, errors)
    icon_url = options.get("icon_url")
    if icon_url:
        if error := icon_url_error(icon_url):
            errors["icon_url"] = error
        else:
            result["icon_url"] = icon_url
    attribute_map = options.get("attribute_map")
    if error := attribute_map_error(attribute_map):
        errors["attribute_map"] = error
    else:
        result["attribute_map"] = normalised_attribute_map(attribute_map)

    _discover(options, result, errors)
    return OptionsCheck(result if not errors else {}, secrets if not errors else {}, errors)


def _secrets(options: dict, current, errors: dict) -> dict:
    """The secrets sent (to seal): on an update, a client secret left out keeps the sealed one."""
    secret = options.get("client_secret")
    if secret is None and current is not None and _has_sealed_secret(current):
        return {}
    if not isinstance(secret, str) or not secret:
        errors["client_secret"] = SECRET_REQUIRED
        return {}
    if len(secret) > 1024:
        errors["client_secret"] = SECRET_TOO_LONG
        return {}
    return {"client_secret": secret}


def _has_sealed_secret(connection) -> bool:
    try:
        return bool(connection.secrets.get("client_secret"))
    except SealBroken:  # sealed under a key since retired: it must be entered again
        return False


def _scope(options: dict, result: dict, errors: dict) -> None:
    scope = options.get("scope") or DEFAULT_SCOPE
    tokens = scope.split() if isinstance(scope, str) and len(scope) <= 1000 else None
    if not tokens or not all(SCOPE_TOKEN_RE.match(token) for token in tokens):
        errors["scope"] = "Scopes separated by spaces, such as: openid profile email."
    elif "openid" not in tokens:
        errors["scope"] = "Must contain openid: without it the provider sends no ID token."
    else:
        result["scope"] = " ".join(dict.fromkeys(tokens))


def _domain_aliases(options: dict, result: dict, errors: dict) -> None:
    aliases, error = domain_aliases(options.get("domain_aliases"))
    if error:
        errors["domain_aliases"] = error
    else:
        result["domain_aliases"] = aliases


def discovery_location(options: dict) -> tuple[str, str, str | None]:
    """(the option that points to the document, its URL, the issuer it must name or None)."""
    discovery_url, issuer = options.get("discovery_url"), options.get("issuer")
    if discovery_url:
        expected = issuer if isinstance(issuer, str) and issuer else None
        if expected is None and isinstance(discovery_url, str) and discovery_url.endswith(WELL_KNOWN):
            expected = discovery_url.removesuffix(WELL_KNOWN)
        return "discovery_url", discovery_url, expected
    if isinstance(issuer, str) and issuer:
        return "issuer", issuer.rstrip("/") + WELL_KNOWN, issuer
    return "discovery_url", "", None


def _discover(options: dict, result: dict, errors: dict) -> None:
    field, url, expected = discovery_location(options)
    if not url:
        errors[field] = "Required: the provider's discovery URL (or its issuer)."
        return
    if error := provider_url_error(url):
        errors[field] = error
        return
    try:
        document = get_json(url, what="discovery document")
    except FederationError as error:
        errors[field] = f"Could not read the discovery document at {url}: {error.message}"
        return
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        errors[field] = "The discovery document names no issuer."
        return
    if expected is not None and issuer.rstrip("/") != expected.rstrip("/"):
        # OpenID Connect Discovery 1.0, 4.3: the document speaks for the issuer it was asked about.
        mismatch_field = "issuer" if options.get("issuer") else field
        errors[mismatch_field] = f"The discovery document's issuer is {quoted(issuer, 200)}, not {expected[:200]}."
        return
    metadata, problem = _metadata(document)
    if problem:
        errors[field] = problem
        return
    method = options.get("token_endpoint_auth_method") or _default_auth_method(metadata)
    supported = _names(metadata, "token_endpoint_auth_methods_supported", ["client_secret_basic"])
    if method not in AUTH_METHODS or method not in supported:
        errors["token_endpoint_auth_method"] = (
            f"The provider must accept client_secret_basic or client_secret_post (it lists: {', '.join(supported)})."
        )
        return
    result.update(discovery_url=url, issuer=metadata["issuer"], token_endpoint_auth_method=method)
    result["oidc_metadata"] = metadata


def _default_auth_method(metadata: dict) -> str:
    # Absent from the document, the provider accepts client_secret_basic (OpenID Connect Discovery 1.0, 3).
    supported = _names(metadata, "token_endpoint_auth_methods_supported", ["client_secret_basic"])
    return next((method for method in AUTH_METHODS if method in supported), "client_secret_basic")


def _metadata(document: dict) -> tuple[dict, str | None]:
    """The document's fields we keep, or why it cannot serve (OpenID Connect Discovery 1.0, 3)."""
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if error := provider_url_error(document.get(name)):
            return {}, f"The discovery document's {name}: {error}"
    if document.get("userinfo_endpoint") and (error := provider_url_error(document["userinfo_endpoint"])):
        return {}, f"The discovery document's userinfo_endpoint: {error}"
    if "code" not in _names(document, "response_types_supported", []):
        return {}, "The provider does not offer the authorization code flow (response_types_supported)."
    if "authorization_code" not in _names(document, "grant_types_supported", ["authorization_code"]):
        return {}, "The provider does not offer the authorization code grant (grant_types_supported)."
    if "S256" not in _names(document, "code_challenge_methods_supported", []):
        return {}, "The provider does not offer PKCE with S256 (code_challenge_methods_supported)."
    algorithms = _names(document, "id_token_signing_alg_values_supported", [])
    if not any(alg in algorithms for alg in ID_TOKEN_ALGORITHMS):
        return {}, f"The provider signs ID tokens with none of {', '.join(ID_TOKEN_ALGORITHMS)}."
    return {name: document[name] for name in METADATA_FIELDS if name in document}, None


def _names(document: dict, name: str, default: list) -> list:
    """A list-of-strings field of the document, or ``default`` when absent (or not such a list)."""
    value = document.get(name)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return default if value is None else []
