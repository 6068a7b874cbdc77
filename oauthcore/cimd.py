"""Client ID metadata documents: an https URL as ``client_id``, the app's metadata served at that URL.

Off unless the tenant turns on ``enable_client_id_metadata_documents``. The app behind a URL is a
strict third-party public client (PKCE, consent, default permissions only), made and refreshed by
the application services; the URL is kept as its ``external_client_id``.

Fetching a URL a stranger chose is a server-side request forgery risk, so the fetch:
- takes ``https`` only, on the default port or any other, without user info or fragment;
- resolves the host once, refuses it if *any* address is not public (loopback, private, link-local,
  reserved, multicast...), and connects to that very address (no second lookup to rebind);
- follows no redirect, stops after ``CIMD_FETCH_TIMEOUT`` seconds and ``CIMD_MAX_DOCUMENT_BYTES``;
- is cached (the document for ``CIMD_CACHE_SECONDS`` or a shorter ``max-age``; a failure for a minute).

django-oauth-toolkit 3.4 has CIMD too, but it would create DOT-style apps outside the services
(no ``tpc_`` id, no strict mode, no audit), so Portcullis resolves URLs itself.
"""

import hashlib
import ipaddress
import json
import re
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import urllib3
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

from oauthcore.conf import portcullis_settings
from oauthcore.constants import AppType, GrantType, TokenEndpointAuthMethod
from oauthcore.models import Application, TenantSettings
from oauthcore.services.registration import cimd_application_save
from oauthcore.validation import shown_logo_uri, split_url

FAILURE_CACHE_SECONDS = 60
MAX_AGE_RE = re.compile(r"max-age=(\d+)")
ALLOWED_GRANT_TYPES = (GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value)

# Tests fetch from a fixture server on 127.0.0.1 over http. That allowance is switched on only by
# overriding settings at run time (``PORTCULLIS["CIMD_TEST_ALLOW_LOOPBACK"]`` in override_settings):
# a value written in a settings module, or any environment variable, never enables it.
_loopback_allowed = False


@receiver(setting_changed)
def _test_allowance(*, setting, value, enter, **kwargs):
    global _loopback_allowed
    if setting == "PORTCULLIS":
        _loopback_allowed = bool(enter and (value or {}).get("CIMD_TEST_ALLOW_LOOPBACK"))


def loopback_allowed() -> bool:
    return _loopback_allowed


class CIMDError(Exception):
    """Why a client ID metadata document cannot be used (shown to no one but the logs and the admin)."""


def is_cimd_client_id(client_id: str | None) -> bool:
    parts = split_url(client_id) if client_id else None
    if parts is None:
        return False
    schemes = {"https", "http"} if loopback_allowed() else {"https"}
    return parts.scheme in schemes and bool(parts.hostname) and parts.path not in {"", "/"}


def _check_url(url: str):
    parts = split_url(url)
    if parts is None:
        raise CIMDError("The client_id is not a URL that can be fetched.")
    try:
        parts.port  # noqa: B018 - read for its check: out of range or not a number raises
    except ValueError as exc:
        raise CIMDError("The client_id URL has an invalid port.") from exc
    if parts.scheme != "https" and not (loopback_allowed() and parts.scheme == "http"):
        raise CIMDError("Client ID metadata documents are fetched over https only.")
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise CIMDError("The client_id URL must have a host and no user info or fragment.")
    return parts


def _public_address(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise CIMDError(f"{host} cannot be resolved.") from exc
    addresses = {info[4][0] for info in infos}
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            if ip.is_loopback and loopback_allowed():
                continue
            raise CIMDError(f"{host} resolves to an address that is not public ({ip}).")
    if not addresses:
        raise CIMDError(f"{host} cannot be resolved.")
    return sorted(addresses)[0]


def fetch_document(url: str) -> tuple[dict, int]:
    """The JSON document at ``url`` and how long it may be cached, fetched under every guard above."""
    parts = _check_url(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _public_address(parts.hostname, port)
    timeout = float(portcullis_settings.CIMD_FETCH_TIMEOUT)
    limit = int(portcullis_settings.CIMD_MAX_DOCUMENT_BYTES)
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if parts.scheme == "https":  # connect to the checked address; verify the certificate for the name
        pool = urllib3.HTTPSConnectionPool(
            address, port, server_hostname=parts.hostname, assert_hostname=parts.hostname, **options
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    try:
        response = pool.urlopen(
            "GET",
            path,
            headers={"Host": parts.netloc, "Accept": "application/json"},
            redirect=False,
            preload_content=False,
        )
        try:
            if response.status != 200:
                raise CIMDError(f"The client ID metadata document answered HTTP {response.status}.")
            body = b""
            for chunk in response.stream(1024):
                body += chunk
                if len(body) > limit:
                    raise CIMDError(f"The client ID metadata document is larger than {limit} bytes.")
                if time.monotonic() > deadline:
                    raise CIMDError("The client ID metadata document took too long to arrive.")
            cache_control = response.headers.get("Cache-Control", "")
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise CIMDError(f"The client ID metadata document cannot be fetched: {exc.__class__.__name__}.") from exc
    finally:
        pool.close()
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CIMDError("The client ID metadata document is not JSON.") from exc
    if not isinstance(document, dict):
        raise CIMDError("The client ID metadata document is not a JSON object.")
    max_age = int(portcullis_settings.CIMD_CACHE_SECONDS)
    match = MAX_AGE_RE.search(cache_control)
    if match:
        max_age = min(max_age, int(match.group(1)))
    return document, max_age


def _cache_key(url: str) -> str:
    return "cimd:" + hashlib.sha256(url.encode()).hexdigest()


def cached_document(url: str) -> tuple[dict, int]:
    key = _cache_key(url)
    cached = cache.get(key)
    if cached is not None:
        if "error" in cached:
            raise CIMDError(cached["error"])
        return cached["document"], cached["max_age"]
    try:
        document, max_age = fetch_document(url)
    except CIMDError as exc:
        cache.set(key, {"error": str(exc)}, FAILURE_CACHE_SECONDS)
        raise
    cache.set(key, {"document": document, "max_age": max_age}, max(1, max_age))
    return document, max_age


def application_fields(url: str, document: dict) -> dict:
    """What ``application_create`` needs, from a document that must describe the client at ``url``."""
    if document.get("client_id") != url:
        raise CIMDError("The document's client_id is not the URL it was fetched from.")
    method = document.get("token_endpoint_auth_method", TokenEndpointAuthMethod.NONE.value)
    if method != TokenEndpointAuthMethod.NONE:
        raise CIMDError("Clients known by a metadata document are public: token_endpoint_auth_method none.")
    redirect_uris = document.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris or not all(isinstance(u, str) for u in redirect_uris):
        raise CIMDError("The document must list redirect_uris.")
    grant_types = document.get("grant_types") or [GrantType.AUTHORIZATION_CODE.value]
    if not isinstance(grant_types, list) or GrantType.AUTHORIZATION_CODE not in grant_types:
        raise CIMDError("The document's grant_types must include authorization_code.")
    name = document.get("client_name")
    logo = document.get("logo_uri")
    return {
        "name": (name if isinstance(name, str) and name else urlsplit(url).hostname)[:100],
        "app_type": AppType.NATIVE,
        "callbacks": redirect_uris,
        "grant_types": [grant for grant in ALLOWED_GRANT_TYPES if grant in grant_types],
        "token_endpoint_auth_method": TokenEndpointAuthMethod.NONE.value,
        # A document's logo that is not https is dropped, not refused: the rest of the document is usable.
        "logo_uri": shown_logo_uri(logo) if isinstance(logo, str) else "",
    }


def cimd_application(url: str) -> Application | None:
    """The app a client ID metadata document URL stands for (made or refreshed), or None."""
    if not is_cimd_client_id(url) or not TenantSettings.load().enable_client_id_metadata_documents:
        return None
    application = Application.objects.filter(external_client_id=url).first()
    now = timezone.now()
    if application is not None and application.cimd_expires_at and application.cimd_expires_at > now:
        return application
    try:
        document, max_age = cached_document(url)
        application = cimd_application_save(
            url=url,
            fields=application_fields(url, document),
            expires_at=now + timedelta(seconds=max_age),
            application=application,
        )
    except (CIMDError, ValidationError):
        return None  # a document that cannot be fetched or used now lets no one in under its URL
    return application
