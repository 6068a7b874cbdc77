"""The emails end users get, rendered from the tenant's templates (``EmailTemplate``) or the defaults.

A template is text a tenant admin typed, so it is rendered by an engine of its own: Django's
template language without loaders (no ``include``/``extends`` of files), without ``load`` (no tag
library), without ``debug`` (which would dump the context), ``url`` or ``csrf_token``; every
variable is a plain dict or string made here, never a model, so no method of the ORM is reachable.
A variable the context lacks renders empty; the padding filters (``ljust``, ``rjust``,
``center``) are left out, as a width typed into a template could exhaust memory. Bodies are plain
text: autoescaping is off (no HTML is produced, nothing is interpreted by a mail client).

The variables (documented in the README): ``user`` (email, email_verified, name, given_name,
family_name, nickname, username, user_id), ``tenant`` (friendly_name, support_email), ``url`` (the
link, when the email has one), ``application`` (name, client_id, and ``callback_domain`` only when
the app that started the flow allows redirection: ``redirection_policy`` ``allow_always``).
"""

import logging
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags

from oauthcore.constants import RedirectionPolicy
from oauthcore.models import EmailTemplate, EmailTemplateName, TenantSettings
from oauthcore.outbox import email_queue

logger = logging.getLogger(__name__)

UNSAFE_TAGS = frozenset({"debug", "load", "url", "csrf_token", "ssi", "lorem"})
# Padding filters take any width: "x"|ljust:"999999999" would build a gigabyte string.
UNSAFE_FILTERS = frozenset({"ljust", "rjust", "center", "pprint"})


def _safe_builtins() -> list[Library]:
    tags, filters = Library(), Library()
    tags.tags = {name: tag for name, tag in defaulttags.register.tags.items() if name not in UNSAFE_TAGS}
    filters.filters = {
        name: function for name, function in defaultfilters.register.filters.items() if name not in UNSAFE_FILTERS
    }
    return [tags, filters]


def _engine() -> Engine:
    engine = Engine(dirs=[], app_dirs=False, loaders=[], builtins=[], libraries={}, autoescape=False, debug=False)
    engine.template_builtins = _safe_builtins()
    return engine


ENGINE = _engine()


@dataclass(frozen=True)
class Default:
    subject: str
    body: str
    enabled: bool


DEFAULTS = {
    EmailTemplateName.VERIFY_EMAIL: Default(
        subject="Verify your email for {{ tenant.friendly_name }}",
        body=(
            "Hello {{ user.name }},\n\n"
            "Please confirm that {{ user.email }} is your email address by opening this link:\n\n"
            "{{ url }}\n\n"
            "If you did not create an account, ignore this email.\n\n"
            "{{ tenant.friendly_name }}{% if tenant.support_email %} ({{ tenant.support_email }}){% endif %}\n"
        ),
        enabled=True,
    ),
    EmailTemplateName.RESET_EMAIL: Default(
        subject="Reset your {{ tenant.friendly_name }} password",
        body=(
            "Hello {{ user.name }},\n\n"
            "Someone asked to reset the password of your account {{ user.email }}. To choose a new one, open:\n\n"
            "{{ url }}\n\n"
            "The link works once and for a short time. If you did not ask, ignore this email: "
            "your password stays as it is.\n\n"
            "{{ tenant.friendly_name }}{% if tenant.support_email %} ({{ tenant.support_email }}){% endif %}\n"
        ),
        enabled=True,
    ),
    EmailTemplateName.WELCOME_EMAIL: Default(
        subject="Welcome to {{ tenant.friendly_name }}",
        body="Hello {{ user.name }},\n\nYour account {{ user.email }} is ready.\n\n{{ tenant.friendly_name }}\n",
        enabled=False,
    ),
    EmailTemplateName.BLOCKED_ACCOUNT: Default(
        subject="Your {{ tenant.friendly_name }} account was blocked",
        body=(
            "Hello {{ user.name }},\n\nYour account {{ user.email }} was blocked: you can no longer sign in.\n"
            "{% if tenant.support_email %}Write to {{ tenant.support_email }} if you think this is a mistake.\n"
            "{% endif %}\n{{ tenant.friendly_name }}\n"
        ),
        enabled=False,
    ),
}


@dataclass(frozen=True)
class TemplateSettings:
    """What a template says now: the tenant's row, or the default."""

    name: str
    subject: str
    body: str
    enabled: bool
    result_url: str = ""
    url_lifetime_in_seconds: int | None = None
    from_address: str = ""


def template_settings(name: str) -> TemplateSettings:
    row = EmailTemplate.objects.filter(template=name).first()
    if row is None:
        default = DEFAULTS[name]
        return TemplateSettings(name, default.subject, default.body, default.enabled)
    return TemplateSettings(
        name, row.subject, row.body, row.enabled, row.result_url, row.url_lifetime_in_seconds, row.from_address
    )


def callback_domain(application) -> str:
    """The origin of the app's first callback URL (scheme and host), or empty."""
    for callback in application.callbacks or []:
        parts = urlsplit(callback)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return ""


def application_variables(application) -> dict:
    """The app as a template sees it. ``callback_domain`` is there only for an app that allows
    redirection: for one protected against open redirects, an email must not point at it."""
    if application is None:
        return {}
    variables = {"name": application.name, "client_id": application.client_id}
    if application.redirection_policy == RedirectionPolicy.ALLOW_ALWAYS and (domain := callback_domain(application)):
        variables["callback_domain"] = domain
    return variables


def user_variables(user) -> dict:
    full_name = user.get_full_name()
    return {
        "email": user.email,
        "email_verified": user.email_verified,
        "name": full_name or user.email or user.get_username(),
        "given_name": user.first_name,
        "family_name": user.last_name,
        "nickname": user.get_username(),
        "username": user.get_username(),
        "user_id": user.user_id,
    }


def tenant_variables(tenant: TenantSettings | None = None) -> dict:
    tenant = tenant or TenantSettings.load()
    return {"friendly_name": tenant.friendly_name, "support_email": tenant.support_email}


def variables(*, user, application=None, url: str = "") -> dict:
    context = {
        "user": user_variables(user),
        "tenant": tenant_variables(),
        "application": application_variables(application),
    }
    if url:
        context["url"] = url
    return context


def sender_error(value: str) -> str:
    """Why ``value`` cannot be an email's From (empty: it can): one address, optionally named, on one line."""
    if not value:
        return ""
    _name, address = parseaddr(value)
    if any(c in value for c in "\r\n,;") or not address:
        return "Give one address, e.g. Acme <no-reply@acme.example>."
    try:
        validate_email(address)
    except ValidationError:
        return "Give one address, e.g. Acme <no-reply@acme.example>."
    return ""


def compile_errors(*, subject: str, body: str) -> dict[str, str]:
    """Why a template would not compile, by field (empty: it compiles)."""
    errors = {}
    for field, text in (("subject", subject), ("body", body)):
        try:
            ENGINE.from_string(text)
        except TemplateSyntaxError as exc:
            errors[field] = f"This template does not compile: {exc}"
    return errors


def render(text: str, context: dict) -> str:
    return ENGINE.from_string(text).render(Context(context, autoescape=False))


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def render_email(settings: TemplateSettings, context: dict) -> RenderedEmail:
    """The email as the template words it; the default's words if the template fails to render
    (a broken template must not keep a user from their link)."""
    try:
        subject, body = render(settings.subject, context), render(settings.body, context)
    except Exception:
        logger.warning("The %s email template failed to render; the default was sent.", settings.name, exc_info=True)
        default = DEFAULTS[settings.name]
        subject, body = render(default.subject, context), render(default.body, context)
    return RenderedEmail(" ".join(subject.split())[:255], body)


def sample_variables(application=None) -> dict:
    """What the admin's preview renders with."""
    return {
        "user": {
            "email": "jane@example.com",
            "email_verified": False,
            "name": "Jane Doe",
            "given_name": "Jane",
            "family_name": "Doe",
            "nickname": "jane",
            "username": "jane",
            "user_id": "auth0|0123456789abcdef01234567",
        },
        "tenant": tenant_variables(),
        "url": "https://login.example.com/login/verify/EXAMPLE-TOKEN",
        "application": {
            "name": "Example App",
            "client_id": "EXAMPLE_CLIENT_ID",
            "callback_domain": "https://app.example.com",
        },
    }


def account_email_send(
    *, template: str, user, application=None, url: str = "", to: str = "", required: bool = False
) -> bool:
    """Queue one of the account emails to ``user`` (or to ``to``, an address they are proving, which
    the template then sees as ``user.email``) if its template is enabled, or ``required`` (a flow
    that cannot go on without it) (True when queued)."""
    settings = template_settings(template)
    address = to or user.email
    if not (settings.enabled or required) or not address:
        return False
    context = variables(user=user, application=application, url=url)
    context["user"]["email"] = address
    email = render_email(settings, context)
    email_queue(
        kind=f"account.{template}",
        to=address,
        subject=email.subject,
        body=email.body,
        from_email=settings.from_address,
    )
    return True
