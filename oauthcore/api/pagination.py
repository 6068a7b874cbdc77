"""Auth0's paging: offset pages (``page``, ``per_page``, ``include_totals``) and checkpoints (``from``, ``take``)."""

import base64
import binascii

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from oauthcore.api.errors import InvalidQueryError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
# Beyond this, an offset would only overflow the database's integers (a 500): refused with a 400.
MAX_PAGE = 100_000

PAGE_SIZE_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}

OFFSET_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
        description="Page index of the results to return. First page is 0.",
    ),
    OpenApiParameter("per_page", PAGE_SIZE_SCHEMA, description="Number of results per page (default 50, max 100)."),
    OpenApiParameter(
        "include_totals",
        OpenApiTypes.BOOL,
        description="Return results inside an object that contains the total result count (true) "
        "or as a direct array of results (false, default).",
    ),
]
CHECKPOINT_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.STR, description="Optional id from which to start selection (opaque)."),
    OpenApiParameter("take", PAGE_SIZE_SCHEMA, description="Number of results per page (default 50, max 100)."),
]


def query_bool(request, name: str, default: bool | None = None) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidQueryError(f"Expected type boolean but found type string on property {name}.")


def query_choices(request, name: str, choices, *, separator: str | None = None) -> list[str] | None:
    """The values of an enumerated filter (``?strategy=a&strategy=b``, or ``?app_type=a,b`` with a
    ``separator``), or None when the parameter is absent. An empty or unknown value is a 400, never
    a filter that quietly matches everything or nothing."""
    if name not in request.query_params:
        return None
    raw_values = request.query_params.getlist(name)
    if separator is not None:
        raw_values = [part for raw in raw_values for part in raw.split(separator)]
    values = [value.strip() for value in raw_values]
    if not values or "" in values:
        raise InvalidQueryError(f"Empty value on property {name}; expected one of: {', '.join(choices)}.")
    if unknown := [value for value in values if value not in choices]:
        raise InvalidQueryError(
            f"Invalid value {unknown[0]!r} on property {name}; expected one of: {', '.join(choices)}."
        )
    return values


def query_choice(request, name: str, choices) -> str | None:
    values = query_choices(request, name, choices)
    if values is None:
        return None
    if len(values) > 1:
        raise InvalidQueryError(f"Property {name} takes one value.")
    return values[0]


def query_int(request, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidQueryError(f"Expected type integer but found type string on property {name}.") from None
    if value < minimum:
        raise InvalidQueryError(f"Value {value} is less than minimum {minimum} on property {name}.")
    if maximum is not None and value > maximum:
        raise InvalidQueryError(f"Value {value} is greater than maximum {maximum} on property {name}.")
    return value


def encode_checkpoint(pk: str) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode().rstrip("=")


def decode_checkpoint(value: str) -> str:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded:
        raise InvalidQueryError("Invalid value on property from.")
    return decoded


def offset_parameters(request) -> tuple[int, int, bool]:
    """``page``, ``per_page`` and ``include_totals``, validated."""
    return (
        query_int(request, "page", 0, 0, MAX_PAGE),
        query_int(request, "per_page", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        query_bool(request, "include_totals", False),
    )


def offset_page(request, queryset, key: str, serialize):
    """A list (``include_totals`` false) or ``{"start", "limit", "total", key}``."""
    page, per_page, include_totals = offset_parameters(request)
    start = page * per_page
    items = serialize(list(queryset[start : start + per_page]))
    if not include_totals:
        return items
    return {"start": start, "limit": per_page, "total": queryset.count(), key: items}


def checkpoint_page(request, queryset, key: str, serialize):
    """``{key, "next"}`` ordered by primary key; ``next`` is omitted on the last page."""
    take = query_int(request, "take", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    queryset = queryset.order_by("pk")
    checkpoint = request.query_params.get("from")
    if checkpoint:
        queryset = queryset.filter(pk__gt=decode_checkpoint(checkpoint))
    rows = list(queryset[: take + 1])
    body = {key: serialize(rows[:take])}
    if len(rows) > take:
        body["next"] = encode_checkpoint(rows[take - 1].pk)
    return body


def wants_checkpoint(request) -> bool:
    return "from" in request.query_params or "take" in request.query_params


def paginate(request, queryset, key: str, serialize, *, checkpoint: bool = False):
    """Checkpoint paging when the resource supports it and ``from``/``take`` is given; offset paging otherwise.

    Offset parameters are validated either way: a malformed one is an error, never silently ignored."""
    if checkpoint and wants_checkpoint(request):
        offset_parameters(request)
        return checkpoint_page(request, queryset, key, serialize)
    return offset_page(request, queryset, key, serialize)
