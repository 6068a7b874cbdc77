"""Answers that carry a credential (a client secret, a registration access token): no cache keeps them.

Django's ``never_cache`` sends ``Cache-Control: no-store``; RFC 6749 §5.1 and RFC 7591 §3.2.1 also
ask for ``Pragma: no-cache``, for the HTTP/1.0 caches and proxies that read nothing else.
"""

from functools import wraps

from django.utils.cache import add_never_cache_headers


def forbid_caching(response):
    """``response``, marked so that neither the browser nor any cache on the way stores it."""
    add_never_cache_headers(response)
    response["Pragma"] = "no-cache"
    return response


def never_stored(view):
    """``never_cache`` with ``Pragma: no-cache``: for views whose answers may show a credential."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return forbid_caching(view(request, *args, **kwargs))

    return wrapped
