"""Creating, changing, rotating and deleting applications."""

from dataclasses import dataclass

from django.db import transaction

from oauthcore.audit import Actor, record_event
from oauthcore.constants import CreatedVia
from oauthcore.credentials import new_client_secret
from oauthcore.models import Application
from oauthcore.services.tokens import application_tokens_revoke

# What may be changed after creation; everything else is fixed or derived.
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "logo_uri",
        "app_type",
        "callbacks",
        "allowed_origins",
        "web_origins",
        "grant_types",
        "token_endpoint_auth_method",
        "redirection_policy",
        "client_metadata",
        # Sent again with the same value is fine; a change is refused by the model.
        "is_first_party",
        "third_party_security_mode",
    }
)


@dataclass(frozen=True)
class IssuedCredentials:
    """An application and its plain client secret: the only time the secret is ever visible."""

    application: Application
    client_secret: str


def _assign(application: Application, fields: dict) -> None:
    for name, value in fields.items():
        if name == "callbacks":
            application.callbacks = list(value)
        elif name == "allowed_origins":
            application.allowed_origins = " ".join(value) if isinstance(value, list | tuple) else value
        else:
            setattr(application, name, value)


def application_create(
    *,
    actor: Actor,
    name: str,
    app_type: str,
    created_via: str = CreatedVia.ADMIN,
    is_first_party: bool = True,
    third_party_security_mode: str = "",
    partner=None,
    external_client_id: str | None = None,
    **fields,
) -> IssuedCredentials:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"application_create got unexpected fields: {', '.join(sorted(unknown))}")
    application = Application(
        name=name,
        app_type=app_type,
        created_via=created_via,
        is_first_party=is_first_party,
        third_party_security_mode=third_party_security_mode,
        partner=partner,
        external_client_id=external_client_id,
    )
    _assign(application, fields)
    secret = new_client_secret()
    application.client_secret = secret
    with transaction.atomic():
        application.full_clean()
        application.save()
        record_event(
            actor=actor,
            action="client.create",
            target=application,
            data={"client_id": application.client_id, "created_via": created_via, "is_first_party": is_first_party},
        )
    return IssuedCredentials(application, secret)


def application_update(*, actor: Actor, application: Application, **fields) -> Application:
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"application_update got unexpected fields: {', '.join(sorted(unknown))}")
    _assign(application, fields)
    with transaction.atomic():
        application.full_clean()
        application.save()
        record_event(actor=actor, action="client.update", target=application, data={"fields": sorted(fields)})
    return application


def application_rotate_secret(*, actor: Actor, application: Application) -> str:
    """Replace the secret at once; the old one stops working. Returns the new secret, shown once."""
    secret = new_client_secret()
    with transaction.atomic():
        application.client_secret = secret
        application.save(update_fields=["client_secret", "client_secret_hint", "updated"])
        record_event(actor=actor, action="client.rotate_secret", target=application)
    return secret


def application_delete(*, actor: Actor, application: Application) -> None:
    with transaction.atomic():
        application_tokens_revoke(actor=actor, application=application, reason="application deleted")
        record_event(
            actor=actor,
            action="client.delete",
            target=application,
            data={"client_id": application.client_id, "name": application.name},
        )
        application.delete()
