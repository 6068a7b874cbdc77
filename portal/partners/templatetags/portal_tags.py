"""Small helpers for the portal's templates."""

from django import template
from django.utils import timezone

from oauthcore.models import TenantSettings

register = template.Library()

STATUS_TONES = {"approved": "ok", "active": "ok", "rejected": "bad", "suspended": "bad", "pending": "warn"}


@register.simple_tag(takes_context=True)
def tenant_name(context) -> str:
    """The tenant's friendly name, read once per request."""
    request = context.get("request")
    name = getattr(request, "_portcullis_tenant_name", None)
    if name is None:
        name = TenantSettings.load().friendly_name
        if request is not None:
            request._portcullis_tenant_name = name
    return name


@register.filter
def tone(status: str) -> str:
    """The badge colour of a status: ok, bad or warn."""
    return STATUS_TONES.get(str(status), "")


@register.filter
def initial(name: str) -> str:
    """The first letter of a name, for an app without a logo."""
    return (str(name).strip()[:1] or "?").upper()


@register.filter
def time_left(moment) -> str:
    """'in 23 hours', 'in 6 days', 'in 12 minutes' (for expiries)."""
    seconds = int((moment - timezone.now()).total_seconds())
    if seconds <= 0:
        return "expired"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    return "in less than a minute"
