"""Settings read from the environment: literal values, and a typo is an error that names the variable."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.platform.env import env_bool, env_int, env_list, env_str


@pytest.mark.parametrize(("raw", "expected"), [("1", True), (" On ", True), ("YES", True), ("0", False), ("", False)])
def test_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("PORTCULLIS_TEST_FLAG", raw)
    assert env_bool("PORTCULLIS_TEST_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["2", "ture", "enabled", "$DEBUG"])
def test_a_word_that_is_no_boolean_is_refused_by_name(monkeypatch, raw):
    monkeypatch.setenv("PORTCULLIS_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=r"PORTCULLIS_TEST_FLAG must be a boolean \(1/0, true/false\)"):
        env_bool("PORTCULLIS_TEST_FLAG", True)


def test_integers(monkeypatch):
    assert env_int("PORTCULLIS_TEST_NUMBER", 7) == 7
    monkeypatch.setenv("PORTCULLIS_TEST_NUMBER", " ")
    assert env_int("PORTCULLIS_TEST_NUMBER", 7) == 7
    monkeypatch.setenv("PORTCULLIS_TEST_NUMBER", "42")
    assert env_int("PORTCULLIS_TEST_NUMBER", 7) == 42
    monkeypatch.setenv("PORTCULLIS_TEST_NUMBER", "4O")
    with pytest.raises(ImproperlyConfigured, match="PORTCULLIS_TEST_NUMBER must be an integer, not '4O'"):
        env_int("PORTCULLIS_TEST_NUMBER", 7)


def test_lists_drop_spaces_and_empty_items(monkeypatch):
    assert env_list("PORTCULLIS_TEST_HOSTS", ["localhost"]) == ["localhost"]
    monkeypatch.setenv("PORTCULLIS_TEST_HOSTS", " a.example.com, b.example.com ,,")
    assert env_list("PORTCULLIS_TEST_HOSTS", []) == ["a.example.com", "b.example.com"]


def test_a_value_starting_with_a_dollar_is_taken_as_it_is(monkeypatch):
    monkeypatch.setenv("PORTCULLIS_TEST_SECRET", "$ecret-key-0123")
    assert env_str("PORTCULLIS_TEST_SECRET") == "$ecret-key-0123"
    assert env_str("PORTCULLIS_TEST_UNSET", "fallback") == "fallback"
