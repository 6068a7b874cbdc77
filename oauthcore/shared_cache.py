"""Raw access to the shared cache when it is Redis, for what runs on every token request.

Django's ``RedisCache`` builds a new Redis client (and its table of reply callbacks) for every
call, which costs more CPU than the round trip it makes; the client here is made once per
backend instance (per thread) and kept with it, so a hot path pays only for the round trip.
"""

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache


def redis_backend() -> RedisCache | None:
    """The default cache if it is Redis, else None (locmem, dummy: use Django's cache API)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return backend if isinstance(backend, RedisCache) else None


def redis_client(backend: RedisCache):
    """A Redis client kept with ``backend`` (its connection pool is the backend's)."""
    client = getattr(backend._cache, "portcullis_client", None)
    if client is None:
        client = backend._cache.portcullis_client = backend._cache.get_client(write=True)
    return client


def registered_script(backend: RedisCache, name: str, source: str):
    """A Lua script registered once per backend client (its SHA computed locally; EVALSHA loads it
    on first use), kept with ``backend`` under ``name``."""
    attribute = f"portcullis_{name}_script"
    script = getattr(backend._cache, attribute, None)
    if script is None:
        script = redis_client(backend).register_script(source)
        setattr(backend._cache, attribute, script)
    return script
