"""Reading configuration from environment variables, each with an embedded default.

django-environ casts the values. Each is read literally first (django-environ would take a value
that starts with ``$`` as the name of another variable, and a secret key may start with ``$``), and
a boolean or integer that does not parse is an error naming the variable: django-environ reads any
unknown word as false, so a typo must not quietly turn a security setting off.

``EMAIL_URL`` and ``CACHE_URL`` keep small parsers of their own: django-environ's ``email_url``
reads ``smtps`` as STARTTLS and names the other backends differently (``consolemail``), and its
``cache_url`` has other scheme names and no bounded Redis timeouts. ``DATABASE_URL`` is parsed by
dj-database-url, in settings.py.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() not in TRUE_VALUES | FALSE_VALUES:
        raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")
    return environ.Env.parse_value(raw, bool)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return environ.Env.parse_value(raw, int)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; spaces around the items are dropped (``a.example, b.example``)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in environ.Env.parse_value(raw, list) if item.strip()]


def served_at(host: str, port: int) -> str:
    """The base URL of a server listening on ``host``:``port`` (``make run``'s HOST and PORT), as a
    browser on the same machine reaches it: a wildcard address (``0.0.0.0``, ``::``) is reached as
    127.0.0.1, an IPv6 address in brackets."""
    host = host.strip().strip("[]")
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 (not a bind: where a wildcard listener is reached)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def env_prefixed(prefix: str) -> dict[str, str]:
    """Every variable named ``<prefix><NAME>``, as ``{"name": value}`` (``RATE_LIMIT_TOKEN`` -> ``token``)."""
    return {name[len(prefix) :].lower(): value for name, value in os.environ.items() if name.startswith(prefix)}


def email_settings(url: str) -> dict:
    """Django email settings from an ``EMAIL_URL`` such as ``smtp://user:pass@host:587?tls=1``.

    Schemes: ``smtp`` (``?tls=1`` for STARTTLS), ``smtps`` (implicit TLS), ``console``,
    ``locmem``, ``dummy``.
    """
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    backends = {
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    }
    if parts.scheme in backends:
        return {"EMAIL_BACKEND": backends[parts.scheme]}
    if parts.scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(f"EMAIL_URL scheme must be smtp, smtps, console, locmem or dummy: {url!r}")
    query = parse_qs(parts.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", ["0"])[0].lower() in TRUE_VALUES,
        "EMAIL_TIMEOUT": 10,
    }


def cache_settings(url: str) -> dict:
    """Django ``CACHES`` from a ``CACHE_URL``: ``redis://host:6379/1`` (shared by every process),
    ``locmem://`` (one process only; the default) or ``dummy://`` (caches nothing)."""
    scheme = urlsplit(url).scheme if url else "locmem"
    if scheme in {"redis", "rediss"}:
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        # Bounded: a cache that stops answering must not hang a request.
        backend["OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    elif scheme == "locmem":
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portcullis"}
    elif scheme == "dummy":
        backend = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    else:
        raise ImproperlyConfigured(f"CACHE_URL scheme must be redis, rediss, locmem or dummy: {url!r}")
    return {"default": {**backend, "KEY_PREFIX": "portcullis"}}
