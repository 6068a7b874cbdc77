"""Options every enterprise strategy takes the same way: ``domain_aliases``, ``icon_url`` and the
provider's URLs. Each function returns an error message, or None when the value is good."""

import re

from oauthcore.conf import portcullis_settings
from oauthcore.loopback import is_loopback_host
from oauthcore.validation import logo_uri_error, split_url

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAIN_ALIASES = 50


def domain_aliases(value) -> tuple[list[str], str | None]:
    """The email domains home-realm discovery sends to the connection, lowercased and without
    repeats (that no other connection has one of them is checked where the domain index is kept,
    ``oauthcore.services.connections``)."""
    if value in (None, ""):
        return [], None
    if not isinstance(value, list) or len(value) > MAX_DOMAIN_ALIASES:
        return [], f"A list of at most {MAX_DOMAIN_ALIASES} email domains."
    domains = [alias.strip().lower() if isinstance(alias, str) else alias for alias in value]
    bad = [alias for alias in domains if not isinstance(alias, str) or not DOMAIN_RE.match(alias)]
    if bad:
        return [], f"Not an email domain (such as acme.com): {str(bad[0])[:100]}"
    return list(dict.fromkeys(domains)), None


def icon_url_error(value) -> str | None:
    """The login button's icon: an https image URL, by the same rule as an app's logo."""
    return logo_uri_error(value if isinstance(value, str) else None)


def provider_url_error(url) -> str | None:
    """Why ``url`` cannot be one of the provider's URLs: https, or http on this machine only, and
    this machine only where ``FEDERATION_ALLOW_LOOPBACK`` allows it (local development and tests).

    Portcullis itself fetches these URLs (discovery, keys, tokens, metadata), and a setup link lets
    someone without an account give them: a provider on this machine would let them reach services
    that listen on loopback only."""
    parts = split_url(url) if isinstance(url, str) and len(url) <= 2000 else None
    if parts is None or not parts.hostname or parts.scheme not in ("https", "http") or parts.fragment:
        return "Must be an https URL."
    on_this_machine = is_loopback_host(parts.hostname)
    if on_this_machine and not portcullis_settings.FEDERATION_ALLOW_LOOPBACK:
        return "Must be the provider's own address: this server's loopback addresses are refused."
    if parts.scheme == "http" and not on_this_machine:
        return "Must be an https URL (http only for a provider on this machine)."
    return None
