"""Signing keys: encrypted at rest, rotated by command, retired keys published until tokens expire."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauthcore.constants import MAX_TOKEN_LIFETIME
from oauthcore.keys import UnreadableSigningKey, active_signing_key, clear_cache, published_keys
from oauthcore.models import AuditEvent, SigningKey

pytestmark = pytest.mark.django_db


def test_the_first_key_is_made_on_first_use_and_stored_encrypted():
    key = active_signing_key()
    row = SigningKey.objects.get()
    assert row.kid == key.kid == key.jwk.thumbprint()
    assert "PRIVATE KEY" not in row.encrypted_private_key
    assert "d" not in row.public_jwk and row.public_jwk["kid"] == row.kid


def test_rotation_by_command_keeps_the_old_key_published():
    old = active_signing_key().kid
    out = StringIO()
    call_command("rotate_signing_key", stdout=out)
    clear_cache()
    new = active_signing_key().kid
    assert new != old and new in out.getvalue()
    assert [jwk["kid"] for jwk in published_keys()] == [new, old]
    assert AuditEvent.objects.filter(action="signing_key.rotate").exists()


def test_keys_retired_longer_than_any_token_lives_are_dropped_from_the_jwks():
    old = active_signing_key().kid
    call_command("rotate_signing_key", stdout=StringIO())
    SigningKey.objects.filter(kid=old).update(retired_at=timezone.now() - timedelta(seconds=MAX_TOKEN_LIFETIME + 60))
    assert old not in [jwk["kid"] for jwk in published_keys()]


def test_a_key_unreadable_after_a_secret_key_change_is_an_error_not_replaced(settings):
    old = active_signing_key().kid
    clear_cache()
    settings.SECRET_KEY = "a-different-secret-key-for-this-test-only"
    with pytest.raises(UnreadableSigningKey, match="SECRET_KEY_FALLBACKS"):
        active_signing_key()
    assert [jwk["kid"] for jwk in published_keys()] == [old]
