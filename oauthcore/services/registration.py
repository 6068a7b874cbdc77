"""Dynamic client registration (RFC 7591), its management protocol (RFC 7592), and the apps
known by a client ID metadata document.

Every registered app is a strict third-party app (``tpc_`` id, PKCE, consent, no OIDC) made by
``application_create``, so the same invariants, defaults and audit events apply as for any other
app. It reaches APIs only through the default permissions for third-party clients.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import constant_time_compare

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType, CreatedVia, GrantType, TokenEndpointAuthMethod
from oauthcore.models import Application
from oauthcore.services.applications import application_create, application_delete, application_update
from oauthcore.validation import callback_url_error, string_list_error, url_list_error

# RFC 7591 §2 (and OIDC Registration's application_type) metadata accepted; anything else is refused.
INFORMATIONAL_FIELDS = ("client_uri", "policy_uri", "tos_uri", "software_id", "software_version")
KNOWN_FIELDS = frozenset(
    {
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "application_type",
        "logo_uri",
        "contacts",
        "scope",
        *INFORMATIONAL_FIELDS,
    }
)
# Sent back by a client updating itself (RFC 7592 §2.2): accepted, checked, never stored.
ECHOED_FIELDS = frozenset(
    {
        "client_id",
        "client_secret",
        "client_id_issued_at",
        "client_secret_expires_at",
        "registration_access_token",
        "registration_client_uri",
    }
)
REGISTRABLE_GRANT_TYPES = (GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value)
AUTH_METHODS = frozenset(TokenEndpointAuthMethod.values)
APP_TYPES = {"web": AppType.REGULAR_WEB, "native": AppType.NATIVE}
CLIENT_NAME_MAX = 100


class RegistrationError(Exception):
    """An RFC 7591 error: ``invalid_client_metadata`` or ``invalid_redirect_uri``."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description

    def as_json(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Registration:
    application: Application
    client_secret: str | None  # None for public clients, and after registration (stored hashed)
    registration_access_token: str | None  # only when just issued


def _invalid(description: str) -> RegistrationError:
    return RegistrationError("invalid_client_metadata", description)


def _string(data: dict, name: str, *, max_length: int | None = None) -> str:
    value = data.get(name)
    if value is None:
        return ""
    max_length = max_length or portcullis_settings.CLIENT_METADATA_MAX_STRING
    if not isinstance(value, str) or len(value) > max_length:
        raise _invalid(f"{name} must be a string of at most {max_length} characters.")
    return value


def _string_list(data: dict, name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _invalid(f"{name} must be an array of strings.")
    if message := string_list_error(name, value):
        raise _invalid(message)
    if not all(isinstance(item, str) for item in value):
        raise _invalid(f"{name} must be an array of strings.")
    return value


def _redirect_uris(data: dict) -> list[str]:
    """The redirect URIs, bounded before any of them is parsed."""
    value = data.get("redirect_uris")
    if value is not None and not isinstance(value, list):
        raise _invalid("redirect_uris must be an array of strings.")
    if not value:
        raise RegistrationError("invalid_redirect_uri", "redirect_uris is required: at least one redirect URI.")
    if message := url_list_error("redirect_uris", value):
        raise RegistrationError("invalid_redirect_uri", message)
    if not all(isinstance(item, str) for item in value):
        raise _invalid("redirect_uris must be an array of strings.")
    return value


def parse_client_metadata(data) -> dict:
    """The ``application_create`` fields for RFC 7591 metadata, or a RegistrationError."""
    if not isinstance(data, dict):
        raise _invalid("The request body must be a JSON object of client metadata.")
    unknown = sorted(set(data) - KNOWN_FIELDS - ECHOED_FIELDS)
    if unknown:
        raise _invalid(f"Unsupported client metadata: {', '.join(unknown)}.")

    method = _string(data, "token_endpoint_auth_method") or TokenEndpointAuthMethod.CLIENT_SECRET_POST.value
    if method not in AUTH_METHODS:
        raise _invalid(
            f"token_endpoint_auth_method {method!r} is not supported; use one of: {', '.join(sorted(AUTH_METHODS))}."
        )

    grant_types = _string_list(data, "grant_types") or [GrantType.AUTHORIZATION_CODE.value]
    if GrantType.CLIENT_CREDENTIALS in grant_types:
        raise _invalid("The client_credentials grant type is not available through dynamic registration.")
    refused = sorted(set(grant_types) - set(REGISTRABLE_GRANT_TYPES))
    if refused:
        raise _invalid(f"Grant types not supported for registered clients: {', '.join(refused)}.")
    if GrantType.AUTHORIZATION_CODE not in grant_types:
        raise _invalid("Registered clients use the authorization_code grant type.")
    grant_types = [grant for grant in REGISTRABLE_GRANT_TYPES if grant in grant_types]

    response_types = _string_list(data, "response_types")
    if response_types is not None and response_types != ["code"]:
        raise _invalid('response_types must be ["code"].')

    application_type = data.get("application_type")  # a JSON list or object is not even hashable
    if application_type is not None and (not isinstance(application_type, str) or application_type not in APP_TYPES):
        raise _invalid('application_type must be "web" or "native".')
    redirect_uris = _redirect_uris(data)
    if application_type is None:  # private-use schemes are for native apps (RFC 8252 §7.1)
        custom = any(not uri.startswith(("https:", "http:")) for uri in redirect_uris)
        application_type = "native" if custom else "web"
    app_type = APP_TYPES[application_type]
    for uri in redirect_uris:
        message = callback_url_error(uri, strict_third_party=True, app_type=app_type)
        if message:
            raise RegistrationError("invalid_redirect_uri", message)

    metadata = {}
    for name in INFORMATIONAL_FIELDS:
        value = _string(data, name)
        if value:
            metadata[name] = value
    contacts = _string_list(data, "contacts")
    if contacts:
        metadata["contacts"] = _string({"contacts": " ".join(contacts)}, "contacts")
    uri_length = portcullis_settings.CLIENT_METADATA_MAX_URI_LENGTH
    _string(data, "scope", max_length=uri_length)  # as long as a URL; API access comes from default permissions
    # An http logo is refused by the model, like every app's (Application.invariant_errors).
    logo_uri = _string(data, "logo_uri", max_length=uri_length)
    return {
        "name": _string(data, "client_name", max_length=CLIENT_NAME_MAX) or "Dynamically registered app",
        "app_type": app_type,
        "callbacks": redirect_uris,
        "grant_types": grant_types,
        "token_endpoint_auth_method": method,
        "logo_uri": logo_uri,
        "client_metadata": metadata,
    }


def _validation_error(exc: ValidationError) -> RegistrationError:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    if "redirect_uris" in errors:
        return RegistrationError("invalid_redirect_uri", " ".join(errors["redirect_uris"]))
    return _invalid(" ".join(message for messages in errors.values() for message in messages))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def registration_create(*, data) -> Registration:
    """Register a strict third-party app from RFC 7591 metadata (atomic, audited)."""
    fields = parse_client_metadata(data)
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            issued = application_create(
                actor=Actor.system("dynamic client registration"),
                created_via=CreatedVia.DYNAMIC,
                is_first_party=False,
                **fields,
            )
            application = issued.application
            application.registration_token_digest = _digest(token)
            application.save(update_fields=["registration_token_digest"])
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    secret = issued.client_secret if application.is_confidential else None
    return Registration(application, secret, token)


def registered_application(*, client_id: str, token: str) -> Application | None:
    """The app a registration access token manages, or None (unknown app or wrong token alike)."""
    application = Application.objects.filter(client_id=client_id, created_via=CreatedVia.DYNAMIC).first()
    if application is None or not application.registration_token_digest:
        return None
    if not constant_time_compare(application.registration_token_digest, _digest(token)):
        return None
    return application


def registration_update(*, application: Application, data) -> Registration:
    """RFC 7592 §2.2: the request replaces the client's metadata; omitted values fall back to defaults."""
    if isinstance(data, dict) and data.get("client_id") not in (None, application.client_id):
        raise _invalid("client_id does not match the registration being updated.")
    fields = parse_client_metadata(data)
    if fields["token_endpoint_auth_method"] != application.token_endpoint_auth_method and (
        TokenEndpointAuthMethod.NONE in (fields["token_endpoint_auth_method"], application.token_endpoint_auth_method)
    ):
        raise _invalid("A client cannot change between public and confidential; register a new client.")
    try:
        application = application_update(actor=Actor.client(application), application=application, **fields)
    except ValidationError as exc:
        raise _validation_error(exc) from exc
    return Registration(application, None, None)


def registration_delete(*, application: Application) -> None:
    """RFC 7592 §2.3: the client deregisters itself; its tokens stop working at once."""
    with transaction.atomic():
        record_event(actor=Actor.client(application), action="client.deregister", target=application)
        application_delete(actor=Actor.client(application), application=application)


def cimd_application_save(*, url: str, fields: dict, expires_at, application: Application | None = None) -> Application:
    """The app a client ID metadata document at ``url`` describes: made at its first use, refreshed
    from the document after (``fields`` from ``oauthcore.cimd.application_fields``).

    The app and the time until which its document is trusted (``expires_at``) are stored together;
    application_create and application_update write the audit entries.
    """
    actor = Actor.system("client ID metadata document")
    with transaction.atomic():
        if application is None:
            application = application_create(
                actor=actor, created_via=CreatedVia.CIMD, is_first_party=False, external_client_id=url, **fields
            ).application
        else:
            application = application_update(actor=actor, application=application, **fields)
        application.cimd_expires_at = expires_at
        application.save(update_fields=["cimd_expires_at"])
    return application
