"""System checks: refuse to start with a configuration that would be unsafe or broken."""

from importlib.metadata import version
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from oauthcore.conf import portcullis_settings
from oauthcore.consents import ConsentStore, consent_store


@checks.register(checks.Tags.security)
def check_issuer(app_configs, **kwargs):
    issuer = portcullis_settings.ISSUER
    parts = urlsplit(issuer)
    errors = []
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        errors.append(
            checks.Error(
                f"PORTCULLIS_ISSUER must be an absolute http(s) URL without query or fragment, not {issuer!r}.",
                id="portcullis.E001",
            )
        )
    elif not settings.DEBUG and parts.scheme != "https":
        errors.append(
            checks.Warning(
                "PORTCULLIS_ISSUER uses http with DEBUG off: tokens and secrets would travel in clear text.",
                hint="Serve Portcullis over https and set PORTCULLIS_ISSUER=https://…",
                id="portcullis.W001",
            )
        )
    return errors


@checks.register(checks.Tags.security)
def check_client_secret_hasher(app_configs, **kwargs):
    hashers = settings.PASSWORD_HASHERS
    wanted = "oauthcore.credentials.ClientSecretHasher"
    if wanted not in hashers:
        return [checks.Error(f"{wanted} must be listed in PASSWORD_HASHERS.", id="portcullis.E002")]
    if hashers[0] == wanted:
        return [
            checks.Error(
                f"{wanted} must not be the first PASSWORD_HASHERS entry: user passwords need a slow hasher.",
                id="portcullis.E003",
            )
        ]
    if settings.OAUTH2_PROVIDER.get("CLIENT_SECRET_HASHER") != "portcullis_client_secret":
        return [
            checks.Error(
                "OAUTH2_PROVIDER['CLIENT_SECRET_HASHER'] must be 'portcullis_client_secret'.", id="portcullis.E004"
            )
        ]
    return []


@checks.register(checks.Tags.compatibility)
def check_oauthlib_version(app_configs, **kwargs):
    major = int(version("oauthlib").split(".")[0])
    if major >= 4:
        return [
            checks.Error(
                "oauthlib 4 breaks django-oauth-toolkit 3.4's device flow; install oauthlib>=3.3.1,<4.",
                id="portcullis.E005",
            )
        ]
    return []


@checks.register()
def check_consent_store(app_configs, **kwargs):
    """A consent store that cannot be loaded would fail the first /authorize; refuse to start instead."""
    path = portcullis_settings.CONSENT_STORE
    try:
        store = consent_store()
    except ImportError as error:
        return [checks.Error(f"PORTCULLIS['CONSENT_STORE'] {path!r} cannot be imported: {error}", id="portcullis.E006")]
    if not isinstance(store, ConsentStore):
        return [
            checks.Error(
                f"PORTCULLIS['CONSENT_STORE'] {path!r} lacks consented_scopes(), record(), answer(), "
                "revoke_all(), count_for_apis() or forget_api().",
                hint="See oauthcore.consents.ConsentStore.",
                id="portcullis.E007",
            )
        ]
    return []


@checks.register(checks.Tags.database)
def check_signing_key_readable(app_configs, databases=None, **kwargs):
    """A node whose SECRET_KEY cannot decrypt the signing key would fail every token it issues:
    refuse to start (``migrate``, ``check --database default``) rather than find out then."""
    from django.db import DatabaseError

    from oauthcore.keys import UnreadableSigningKey, needs_reencryption
    from oauthcore.models import SigningKey

    if not databases:
        return []
    try:
        active = list(SigningKey.objects.filter(retired_at__isnull=True))
    except DatabaseError:  # not migrated yet: nothing stored to read
        return []
    problems = []
    for row in active:
        try:
            if needs_reencryption(row):
                problems.append(
                    checks.Warning(
                        f"Signing key {row.kid} decrypts only under one of SECRET_KEY_FALLBACKS.",
                        hint="Run `manage.py rotate_signing_key --reencrypt` before removing that fallback.",
                        id="portcullis.W016",
                    )
                )
        except UnreadableSigningKey as error:
            problems.append(checks.Error(str(error), id="portcullis.E016"))
    return problems
