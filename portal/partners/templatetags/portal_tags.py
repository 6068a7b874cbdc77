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


# Largest first. A duration is rounded to the nearest of the next smaller unit, then said in at most
# two units: a 7-day grace period read a second later is "7 days", not the "6 days" truncation gives.
UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'s' if number != 1 else ''}"


def duration_words(seconds: float) -> str:
    """'7 days', '1 day, 12 hours', '1 hour', '5 minutes' or 'less than a minute'."""
    for index, (size, unit) in enumerate(UNITS):
        smaller, smaller_unit = UNITS[index + 1] if index + 1 < len(UNITS) else (size, unit)
        rounded = int((seconds + smaller / 2) // smaller) * smaller  # to the nearest smaller unit
        if rounded >= size:
            whole, rest = divmod(rounded, size)
            words = _count(whole, unit)
            return f"{words}, {_count(rest // smaller, smaller_unit)}" if rest and smaller != size else words
    return "less than a minute"


@register.filter
def time_left(moment) -> str:
    """'in 7 days', 'in 23 hours', 'in 12 minutes' (for expiries), or 'expired'."""
    seconds = (moment - timezone.now()).total_seconds()
    if seconds <= 0:
        return "expired"
    return f"in {duration_words(seconds)}"
