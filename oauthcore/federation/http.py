"""Every HTTP call to an identity provider (OpenID Connect discovery, tokens, keys and userinfo; SAML
metadata): bounded in time and size, its failures said plainly.

The provider is somebody else's server: it may be down, slow, or answer a gateway's HTML page. Each
call gets ``FEDERATION_TIMEOUT`` to connect and the same between bytes read (and a GET the same for
its whole body, so a provider dripping a byte at a time cannot hold a sign-in), a body of at most
``MAX_BODY_BYTES``, and every way it can go wrong becomes a ``FederationError`` whose message says
what the person at the browser (or the admin checking the options) can make of it.
"""

import json
import time

import requests

from oauthcore.conf import portcullis_settings
from oauthcore.federation.base import FederationError

MAX_BODY_BYTES = 512 * 1024


def timeout() -> tuple[float, float]:
    seconds = float(portcullis_settings.FEDERATION_TIMEOUT)
    return (seconds, seconds)


def transport_error(error: requests.RequestException, what: str, url: str) -> FederationError:
    """The ``FederationError`` for a request that got no usable answer at all."""
    if isinstance(error, requests.Timeout):
        seconds = portcullis_settings.FEDERATION_TIMEOUT
        return FederationError(
            f"The identity provider did not answer in time ({what}, {seconds:g} s). Try again in a moment.",
            reason="upstream_timeout",
            detail=f"{url}: {error}",
        )
    return FederationError(
        f"The identity provider could not be reached ({what}). Try again later.",
        reason="upstream_unreachable",
        detail=f"{url}: {error}",
    )


def get_json(url: str, *, what: str, headers: dict | None = None) -> dict:
    """GET a JSON object (a discovery document, a key set, a userinfo response)."""
    return parse_json_object(get_bytes(url, what=what, headers=headers), what=what, url=url)


def get_bytes(url: str, *, what: str, headers: dict | None = None, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """GET a document (redirects are not followed: the URL given is the one trusted)."""
    deadline = time.monotonic() + float(portcullis_settings.FEDERATION_TIMEOUT)
    try:
        with requests.get(url, headers=headers, timeout=timeout(), stream=True, allow_redirects=False) as response:
            body = read_body(response, url=url, what=what, deadline=deadline, max_bytes=max_bytes)
    except requests.RequestException as error:
        raise transport_error(error, what, url) from error
    if response.status_code != 200:
        raise FederationError(
            f"The identity provider answered HTTP {response.status_code} ({what}).",
            reason="upstream_error",
            detail=f"{url}: {body[:200]!r}",
        )
    return body


def read_body(
    response: requests.Response, *, url: str, what: str, deadline: float, max_bytes: int = MAX_BODY_BYTES
) -> bytes:
    """The body of a response opened with ``stream=True``, by ``deadline`` and within ``max_bytes``."""
    body = b""
    for chunk in _chunks(response):
        body += chunk
        if time.monotonic() > deadline:
            raise requests.Timeout(f"the body took longer than {portcullis_settings.FEDERATION_TIMEOUT} s")
        if len(body) > max_bytes:
            raise FederationError(
                f"The identity provider's answer is too large ({what}).",
                reason="upstream_error",
                detail=f"{url}: more than {max_bytes} bytes",
            )
    return body


def _chunks(response: requests.Response):
    """The body as it arrives (urllib3 2's ``read1``: whatever came, without waiting for a full chunk)."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(1024)
        return
    while chunk := read1(64 * 1024, decode_content=True):
        yield chunk


def parse_json_object(body: bytes | str, *, what: str, url: str) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise FederationError(
            f"The identity provider's answer is not a JSON object ({what}).",
            reason="upstream_error",
            detail=f"{url}: {body[:200]!r}",
        )
    return value


def quoted(value, limit: int = 64) -> str:
    """A value from the provider, fit to quote in a message or a log line: printable ASCII, bounded."""
    text = value if isinstance(value, str) else repr(value)
    return "".join(c for c in text if " " <= c <= "~")[:limit]
