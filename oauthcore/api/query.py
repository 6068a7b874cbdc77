"""Query strings are validated like bodies: a parameter the operation does not declare is refused
(Auth0's "Query validation error: Additional properties not allowed"), so that a misspelt filter
never silently returns everything.

What each operation declares is read from the API's own OpenAPI document, built once per process:
the schema stays the single place where parameters are listed.
"""

import re
import threading
from functools import lru_cache

from oauthcore.api.errors import InvalidQueryError

ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
# drf-spectacular's generator is not thread-safe: threaded workers build the document one at a time.
_GENERATING = threading.Lock()


def declared_parameters() -> dict[tuple[str, str], frozenset[str]]:
    with _GENERATING:
        return _declared_parameters()


@lru_cache(maxsize=1)
def _declared_parameters() -> dict[tuple[str, str], frozenset[str]]:
    """``{(OpenAPI path, method): names of its query parameters}``."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    declared = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            declared[(path, method)] = frozenset(names)
    return declared


def openapi_path(request) -> str:
    """``api/v2/clients/<str:pk>`` → ``/api/v2/clients/{id}`` (drf-spectacular names pk ``id``)."""
    route = ROUTE_PARAMETER.sub(
        lambda m: "{" + ("id" if m.group(1) == "pk" else m.group(1)) + "}", request.resolver_match.route
    )
    return "/" + route.lstrip("/")


def check_query_parameters(request) -> None:
    if not request.query_params:
        return
    allowed = declared_parameters().get((openapi_path(request), request.method.lower()))
    if allowed is None:
        return  # not a documented operation: the view answers 404 or 405
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise InvalidQueryError(f"Additional properties not allowed: {', '.join(unknown)}.")
