"""The shared rate limiter, on the configured cache (Redis in CI, local memory otherwise)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from oauthcore.ratelimit import Rate, hit, reset
from portal.platform.env import cache_settings

T0 = 86_400.0 * 12_000  # the start of a window for every period used below


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [("5/s", 5, 1), ("10/m", 10, 60), ("100/h", 100, 3600), ("20/10m", 20, 600), ("3/day", 3, 86400)],
)
def test_rates_are_read_from_text(text, limit, period):
    assert Rate.parse(text) == Rate(limit, period)


@pytest.mark.parametrize("text", ["", "5", "five/s", "0/s", "5/w", "-1/s"])
def test_a_malformed_rate_is_refused_with_the_expected_shape(text):
    with pytest.raises(ValueError, match="A rate"):
        Rate.parse(text)


def test_the_limit_holds_within_a_window_and_says_when_to_come_back():
    rate = Rate.parse("3/m")
    assert all(hit("test", "client-a", rate, now=T0 + i) for i in range(3))
    refused = hit("test", "client-a", rate, now=T0 + 10)
    assert not refused
    assert refused.retry_after == 50  # the rest of the minute


def test_keys_and_scopes_are_counted_apart():
    rate = Rate.parse("1/m")
    assert hit("test", "client-a", rate, now=T0)
    assert hit("test", "client-b", rate, now=T0)
    assert hit("other", "client-a", rate, now=T0)
    assert not hit("test", "client-a", rate, now=T0 + 1)


def test_the_previous_window_still_counts_across_the_boundary():
    rate = Rate.parse("4/m")
    for i in range(4):
        assert hit("test", "burst", rate, now=T0 + 56 + i)
    # Just after the boundary, the previous window's 4 requests still weigh almost fully.
    refused = hit("test", "burst", rate, now=T0 + 61)
    assert not refused
    assert 1 <= refused.retry_after <= 60
    # A whole window later they no longer count.
    assert hit("test", "burst", rate, now=T0 + 180)


def test_refused_requests_count_too():
    rate = Rate.parse("2/s")
    results = [bool(hit("test", "hammer", rate, now=T0 + 0.1 * i)) for i in range(6)]
    assert results == [True, True, False, False, False, False]


def test_reset_forgets_a_key():
    rate = Rate.parse("1/h")
    assert hit("test", "alice", rate, now=T0)
    assert not hit("test", "alice", rate, now=T0 + 1)
    reset("test", "alice", rate, now=T0 + 2)
    assert hit("test", "alice", rate, now=T0 + 3)


def test_cache_url_selects_the_backend():
    redis = cache_settings("redis://127.0.0.1:6379/3")["default"]
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "redis://127.0.0.1:6379/3"
    assert cache_settings("")["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        cache_settings("memcached://127.0.0.1")


def test_an_unreachable_cache_lets_requests_through_and_says_so(settings, caplog):
    settings.CACHES = cache_settings("redis://127.0.0.1:1/0")  # nothing listens on port 1
    rate = Rate.parse("1/h")
    with caplog.at_level("WARNING", logger="oauthcore.ratelimit"):
        assert hit("test", "client-a", rate, now=T0)
        assert hit("test", "client-a", rate, now=T0 + 1)  # would be refused if it were counted
    assert "Rate limiter unavailable for test; request allowed." in caplog.text
