"""What counts as the user's own machine: the one definition of a loopback host.

Two rules ask it: consent is never skipped for a redirect URI on localhost (any local program can
listen there, so the redirect proves nothing about who receives the code), and a third-party app
may register an ``http`` callback only on localhost (RFC 8252 §7.3). Plain Python, no Django, so
the pure policy can use it too.

Loopback is any IPv4 address in 127.0.0.0/8, the IPv6 address ::1 in any spelling (with or without
brackets), and the name ``localhost`` or any name under it (RFC 6761 §6.3), in any case, with or
without the trailing dot of a fully qualified name.
"""

import ipaddress
from urllib.parse import urlsplit

LOCALHOST = "localhost"


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (a URL's host: a name, an IPv4 address or an IPv6 one) is the local machine."""
    if not host:
        return False
    name = host.lower().removesuffix(".")
    if name == LOCALHOST or name.endswith("." + LOCALHOST):
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None) is not None:
        return False  # ::ffff:127.0.0.1 is neither 127.0.0.0/8 nor ::1 (whatever the Python version says)
    return address.is_loopback


def is_loopback_uri(uri: str | None) -> bool:
    """Whether the URL ``uri`` points at the local machine (False for no URL)."""
    return is_loopback_host(urlsplit(uri).hostname) if uri else False
