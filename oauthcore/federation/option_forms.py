"""The form fields of an enterprise connection's options, shared by the admin and the setup page.

Each field is named as the option it sets (Auth0's names), so a service's ``options.<name>`` error
lands on the field of that name. The strategies check the values (``check_options``): the fields
only turn text into the options' shapes (lines into lists, JSON into objects). A secret field is a
password input that is never rendered back; left blank on a change, the sealed value is kept.
"""

import json

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from oauthcore.constants import ConnectionStrategy
from oauthcore.models import Connection

KEEP_SECRET_HELP = "Leave blank to keep the current secret."  # noqa: S105 - a help text
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


class DomainsField(forms.CharField):
    """Email domains, one per line (or separated by spaces or commas), as a list."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 60}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else (value or "")

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        return [item.strip().lower() for item in (value or "").replace(",", " ").split() if item.strip()]

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value):
        """The strategy checks each domain."""


class OptionalJSONField(forms.JSONField):
    """A JSON object, or nothing; shown indented."""

    def prepare_value(self, value):
        if value in (None, "", {}):
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, sort_keys=True)


def _secret(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=1024,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "class": "vTextField"}),
    )


def _text(label: str, help_text: str = "", *, required: bool = False, max_length: int = 2000, **kwargs):
    # The admin's class for wide text inputs (a URL, an entity ID); plain on the setup page.
    kwargs.setdefault("widget", forms.TextInput(attrs={"class": "vURLField"}))
    return forms.CharField(label=label, help_text=help_text, required=required, max_length=max_length, **kwargs)


def _area(label: str, help_text: str = "", rows: int = 6) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows, "cols": 70, "spellcheck": "false"})
    return forms.CharField(label=label, help_text=help_text, required=False, max_length=100_000, widget=widget)


def _common_fields() -> dict:
    return {
        "domain_aliases": DomainsField(
            label="Domain aliases",
            help_text="Email domains of this provider's users, one per line (home-realm discovery).",
        ),
        "icon_url": _text("Icon URL", "An https image shown on the login page's button."),
    }


def oidc_fields() -> dict:
    return {
        "discovery_url": _text(
            "Discovery URL",
            "The provider's …/.well-known/openid-configuration (or its issuer URL).",
            required=True,
        ),
        "client_id": _text(
            "Client ID", "The client ID the provider issued for Portcullis.", required=True, max_length=255
        ),
        "client_secret": _secret("Client secret", "The client secret the provider issued for Portcullis."),
        "scope": _text("Scope", "Scopes separated by spaces; openid is needed.", max_length=1000),
        "token_endpoint_auth_method": forms.ChoiceField(
            label="Client authentication",
            required=False,
            choices=[
                ("", "As the provider's discovery document says"),
                ("client_secret_basic", "client_secret_basic"),
                ("client_secret_post", "client_secret_post"),
            ],
        ),
        **_common_fields(),
        "attribute_map": OptionalJSONField(
            label="Attribute mapping",
            required=False,
            help_text='Optional JSON, e.g. {"mapping_mode": "use_map", "attributes": '
            '{"email": "${context.tokenset.id_token.mail}"}}. Default: the standard claims.',
        ),
    }


def saml_fields() -> dict:
    return {
        "metadataUrl": _text("Metadata URL", "The identity provider's metadata, fetched when saved."),
        "metadataXml": _area("Metadata XML", "Or paste the identity provider's metadata document."),
        "signInEndpoint": _text("Sign-in URL", "Or by hand: the identity provider's single sign-on URL…"),
        "signingCert": _area("Signing certificate", "…its signing certificate (PEM)…", rows=4),
        "idpEntityId": _text("Identity provider's entity ID", "…and its entity ID (the Issuer of its responses)."),
        "signSAMLRequest": forms.BooleanField(
            label="Sign requests", required=False, help_text="Sign the authentication requests sent to the provider."
        ),
        "signatureAlgorithm": forms.ChoiceField(
            label="Signature algorithm", choices=[("rsa-sha256", "RSA-SHA256"), ("rsa-sha1", "RSA-SHA1")]
        ),
        "digestAlgorithm": forms.ChoiceField(
            label="Digest algorithm", choices=[("sha256", "SHA256"), ("sha1", "SHA1")]
        ),
        "protocolBinding": forms.ChoiceField(
            label="Protocol binding",
            required=False,
            choices=[
                ("", "As the metadata offers (HTTP-Redirect first)"),
                (BINDING_REDIRECT, "HTTP-Redirect"),
                (BINDING_POST, "HTTP-POST"),
            ],
        ),
        "fieldsMap": OptionalJSONField(
            label="Fields map",
            required=False,
            help_text='Optional JSON: profile field -> attribute name, e.g. {"email": "mail"}.',
        ),
        **_common_fields(),
    }


FIELDS = {ConnectionStrategy.OIDC: oidc_fields, ConnectionStrategy.SAML: saml_fields}
SECRET_FIELDS = {ConnectionStrategy.OIDC: ("client_secret",), ConnectionStrategy.SAML: ()}
# Options derived from the provider (its discovery document, its metadata) by the strategy, never sent back.
DERIVED = {
    ConnectionStrategy.OIDC: {"issuer", "oidc_metadata"},
    ConnectionStrategy.SAML: {"thumbprints", "expires"},
}
# Shown in the manual fields only when the provider is given by hand (otherwise they came from its metadata).
SAML_BY_HAND = ("signInEndpoint", "signingCert", "idpEntityId")


def option_fields(strategy: str) -> dict:
    """New form fields for ``strategy``'s options (empty for the database strategy)."""
    return FIELDS[strategy]() if strategy in FIELDS else {}


def initial_options(connection: Connection) -> dict:
    """The form's initial values from a connection's stored options (never its secrets)."""
    options = dict(connection.options)
    if connection.strategy == ConnectionStrategy.SAML and (options.get("metadataUrl") or options.get("metadataXml")):
        for name in SAML_BY_HAND:
            options.pop(name, None)
    return {name: options[name] for name in option_fields(connection.strategy) if name in options}


def prepare_secret_fields(form: forms.BaseForm, strategy: str, connection: Connection | None) -> None:
    """A secret the connection has already is not asked again: a blank field keeps it."""
    current = connection.secrets if connection is not None and connection.pk else {}
    for name in SECRET_FIELDS.get(strategy, ()):
        if name in form.fields and current.get(name):
            form.fields[name].required = False
            form.fields[name].help_text = KEEP_SECRET_HELP


def options_from(cleaned_data: dict, strategy: str, current: Connection | None) -> dict:
    """The options to send to the services: the form's fields, over what the form does not show of
    the current options (a secret left blank is left out, so the sealed one is kept)."""
    names = set(option_fields(strategy))
    kept = {}
    if current is not None:
        hidden = names | DERIVED.get(strategy, set())
        kept = {name: value for name, value in current.options.items() if name not in hidden}
    given = {}
    for name in names:
        value = cleaned_data.get(name)
        if value in (None, "", [], {}) and not isinstance(value, bool):
            continue
        given[name] = value.strip() if isinstance(value, str) and name not in SECRET_FIELDS[strategy] else value
    return kept | given


def field_name(error_key: str) -> str:
    """The form field a service's error key is about: ``options.<name>`` is the field ``name``."""
    return error_key.removeprefix("options.")


def put_option_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's errors on the form: ``options.<name>`` on the field ``name``, the rest above."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        name = field_name(key)
        if name in form.fields:
            form.add_error(name, errors)
        elif key in form.fields:
            form.add_error(key, errors)
        else:
            label = "" if key == NON_FIELD_ERRORS else f"{name}: "
            form.add_error(None, [f"{label}{message}" for message in ValidationError(errors).messages])
