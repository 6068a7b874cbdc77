"""Small validators shared by the models, so every entry point refuses the same input the same way."""

from urllib.parse import urlsplit

from oauthcore.conf import portcullis_settings
from oauthcore.loopback import is_loopback_host


def split_url(url: str):
    """``urlsplit``, or None for what it cannot even split: an unbalanced IPv6 bracket
    (``https://[host/cb``), or a host that changes under NFKC normalization."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def url_list_error(name: str, urls: list) -> str | None:
    """Why a list of URLs is too big to look at (too many, or one too long), or None.

    Checked before any URL in it is parsed: a request must not make the server parse and store
    60,000 callbacks to find out that it should not have."""
    limit = portcullis_settings.CLIENT_METADATA_MAX_URIS
    if len(urls) > limit:
        return f"{name} holds at most {limit} URLs ({len(urls)} given)."
    longest = portcullis_settings.CLIENT_METADATA_MAX_URI_LENGTH
    if any(isinstance(url, str) and len(url) > longest for url in urls):
        return f"Each URL in {name} is at most {longest} characters."
    return None


def string_list_error(name: str, items: list) -> str | None:
    """Why a list of short strings (grant types, contacts, ...) is too big, or None."""
    limit, longest = portcullis_settings.CLIENT_METADATA_MAX_LIST, portcullis_settings.CLIENT_METADATA_MAX_STRING
    if len(items) > limit:
        return f"{name} holds at most {limit} items ({len(items)} given)."
    if any(isinstance(item, str) and len(item) > longest for item in items):
        return f"Each item of {name} is at most {longest} characters."
    return None


# The pages that show a logo (the consent screen, the portal) load images over https only (their
# Content Security Policy): an http logo would be a broken image, so none is accepted.
LOGO_URI_ERROR = "The logo must be an https URL (https://…): pages load images over https only."


def logo_uri_error(url: str) -> str | None:
    """Why ``url`` cannot be an app's logo, or None (blank means no logo)."""
    if not url:
        return None
    parts = split_url(url) if isinstance(url, str) else None
    if parts is None or parts.scheme.lower() != "https" or not parts.hostname:
        return LOGO_URI_ERROR
    return None


def shown_logo_uri(url: str) -> str:
    """The logo a page may show: ``url`` when it is an https URL, else "" (an older row's http logo
    would only be a broken image)."""
    return url if url and logo_uri_error(url) is None else ""


def url_port(url: str) -> int | None:
    """The port of ``url`` (None when it names none); ValueError when it is not a port at all."""
    parts = split_url(url)
    if parts is None:
        raise ValueError(f"{url!r} is not a valid URL.")
    return parts.port


def callback_url_error(url: str, *, strict_third_party: bool, app_type: str) -> str | None:
    """Why ``url`` is not an acceptable callback, or None. Callbacks are matched exactly."""
    if not isinstance(url, str) or not url:
        return "Callback URLs must be non-empty strings."
    if any(ch.isspace() for ch in url):
        return f"{url!r} contains white space."
    if "*" in url:
        return f"{url!r}: wildcards are not allowed; callback URLs must be exact."
    parts = split_url(url)
    if parts is None:
        return f"{url!r} is not a valid URL."
    if not parts.scheme:
        return f"{url!r} is not an absolute URL."
    if parts.fragment or url.endswith("#"):
        return f"{url!r} must not contain a fragment."
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError:
        return f"{url!r} has an invalid port."
    if parts.scheme in {"http", "https"}:
        if not parts.hostname:
            return f"{url!r} has no host."
        if strict_third_party and parts.scheme == "http" and not is_loopback_host(parts.hostname):
            return f"{url!r}: third-party applications must use https (http only for localhost)."
        return None
    # A private-use scheme (RFC 8252 §7.1), for native apps: reverse-domain style, e.g. com.example.app:/cb
    if parts.scheme in {"javascript", "data", "file", "vbscript"}:
        return f"{url!r}: the {parts.scheme} scheme is not allowed."
    if app_type != "native":
        return f"{url!r}: only native applications may use a custom URL scheme."
    if strict_third_party and "." not in parts.scheme:
        return f"{url!r}: a native app's custom scheme must be reverse-domain style (e.g. com.example.app)."
    return None


def origin_error(origin: str) -> str | None:
    """Why ``origin`` is not a web origin (scheme://host[:port]), or None."""
    if not isinstance(origin, str) or not origin:
        return "Origins must be non-empty strings."
    if "*" in origin:
        return f"{origin!r}: wildcards are not allowed; origins must be exact."
    parts = split_url(origin)
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"{origin!r} is not an origin (scheme://host[:port])."
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        return f"{origin!r} is not an origin: it has a path, query or fragment."
    return None


def resource_server_identifier_error(identifier: str) -> str | None:
    """An API identifier is an absolute URL (it is also the RFC 8707 resource indicator)."""
    if not identifier:
        return "The identifier is required."
    if any(ch.isspace() for ch in identifier):
        return "The identifier must not contain white space."
    parts = split_url(identifier)
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        return "The identifier must be an absolute URL, such as https://api.example.com/."
    if parts.fragment or "#" in identifier:
        return "The identifier must not contain a fragment."
    return None


def scope_value_error(value: str) -> str | None:
    if not value:
        return "A scope value is required."
    if any(ch.isspace() for ch in value) or '"' in value or "\\" in value:
        return f"{value!r}: scope values cannot contain white space, quotes or backslashes."
    return None
