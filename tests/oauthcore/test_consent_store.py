"""oauthcore finds the consent store by its setting: a store that cannot serve stops the start."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from consent.store import UserGrantStore
from oauthcore.consents import consent_store


def test_the_default_store_is_the_consent_apps():
    assert isinstance(consent_store(), UserGrantStore)


@pytest.mark.parametrize(
    ("path", "error"),
    [("consent.nowhere.Store", "portcullis.E006"), ("builtins.object", "portcullis.E007")],
)
def test_a_store_that_cannot_serve_fails_the_system_check(settings, path, error):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "CONSENT_STORE": path}
    with pytest.raises(SystemCheckError, match=error):
        call_command("check")
