"""A node whose SECRET_KEY cannot decrypt the signing key fails loudly instead of making a key of
its own (two such nodes would replace each other's key forever), and a SECRET_KEY change with the
previous value in SECRET_KEY_FALLBACKS keeps the stored key, and every token it signed, working."""

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import Client
from jwcrypto import jwk, jwt

from oauthcore.keys import clear_cache
from oauthcore.models import AuditEvent, SigningKey

pytestmark = pytest.mark.django_db

OLD_SECRET_KEY = "the-secret-key-the-signing-key-was-encrypted-under"
NEW_SECRET_KEY = "a-new-secret-key-after-a-change-or-on-another-node"


@pytest.fixture
def tenant(oauth_tenant, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_SECRET_KEY, []
    clear_cache()
    yield oauth_tenant
    clear_cache()


def client_credentials(tenant, web=None):
    m2m = tenant.m2m
    return (web or Client()).post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": m2m.application.client_id,
            "client_secret": m2m.client_secret,
            "audience": tenant.api.identifier,
        },
    )


def verifies(tenant, access_token: str) -> bool:
    """Whether the token checks out against the published JWKS and at introspection."""
    keys = jwk.JWKSet.from_json(Client().get("/.well-known/jwks.json").content)
    jwt.JWT(jwt=access_token, key=keys, expected_type="JWS")  # raises when no published key signed it
    api_client = tenant.api_client
    answer = Client().post(
        "/oauth/introspect",
        {
            "token": access_token,
            "client_id": api_client.application.client_id,
            "client_secret": api_client.client_secret,
        },
    )
    return answer.json()["active"] is True


def switch_secret_key(settings, *, fallbacks: list[str]):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, fallbacks
    clear_cache()  # as a node started with these settings


def test_another_secret_key_is_a_clear_error_not_a_new_key(tenant, settings, caplog):
    issued = client_credentials(tenant)
    assert issued.status_code == 200
    (stored,) = SigningKey.objects.all()

    switch_secret_key(settings, fallbacks=[])
    with caplog.at_level(logging.CRITICAL, logger="oauthcore.keys"):
        refused = client_credentials(tenant, web=Client(raise_request_exception=False))
    assert refused.status_code == 500 and "access_token" not in refused.content.decode()
    # The stored key is untouched: nothing replaced it, nothing was rotated.
    assert list(SigningKey.objects.values_list("kid", "retired_at")) == [(stored.kid, None)]
    assert not AuditEvent.objects.filter(action="signing_key.rotate").exists()
    assert f"Signing key {stored.kid} cannot be decrypted with SECRET_KEY" in caplog.text

    # The system check says so too, before a deployment starts serving (migrate runs it).
    with pytest.raises(SystemCheckError, match=r"portcullis\.E016"):
        call_command("check", databases=["default"], stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_signing_key", "--reencrypt", stdout=StringIO())


def test_the_previous_secret_key_as_a_fallback_keeps_the_key_and_its_tokens(tenant, settings):
    before = client_credentials(tenant).json()["access_token"]
    (stored,) = SigningKey.objects.all()

    switch_secret_key(settings, fallbacks=[OLD_SECRET_KEY])
    after = client_credentials(tenant)
    assert after.status_code == 200
    assert verifies(tenant, before) and verifies(tenant, after.json()["access_token"])
    assert list(SigningKey.objects.values_list("kid", flat=True)) == [stored.kid]  # the same key signs
    warnings = StringIO()
    call_command("check", databases=["default"], stdout=warnings, stderr=warnings)
    assert "portcullis.W016" in warnings.getvalue()

    # Re-encrypted under the new SECRET_KEY, the key no longer needs the fallback.
    out = StringIO()
    call_command("rotate_signing_key", "--reencrypt", stdout=out)
    assert "Re-encrypted 1 signing key(s)" in out.getvalue()
    switch_secret_key(settings, fallbacks=[])
    last = client_credentials(tenant)
    assert last.status_code == 200 and verifies(tenant, before) and verifies(tenant, last.json()["access_token"])
    assert list(SigningKey.objects.values_list("kid", flat=True)) == [stored.kid]
    quiet = StringIO()
    call_command("check", databases=["default"], stdout=quiet, stderr=quiet)
    assert "portcullis.W016" not in quiet.getvalue()


def test_a_rotation_reencrypts_the_keys_that_need_a_fallback(tenant, settings):
    client_credentials(tenant)
    (old,) = SigningKey.objects.all()
    switch_secret_key(settings, fallbacks=[OLD_SECRET_KEY])
    call_command("rotate_signing_key", stdout=StringIO())

    settings.SECRET_KEY_FALLBACKS = []
    clear_cache()
    assert client_credentials(tenant).status_code == 200
    call_command("rotate_signing_key", "--reencrypt", stdout=(out := StringIO()))
    assert "Re-encrypted 0 signing key(s)" in out.getvalue()  # the rotation already did it
    assert SigningKey.objects.filter(kid=old.kid, retired_at__isnull=False).exists()
