"""When the database is down, every surface answers 503 with a JSON error at once.

A database outage surfaces as ``OperationalError`` (no connection, connection lost mid-request,
server shutting down) or ``InterfaceError`` (a connection already closed). Views raise it; the
middleware turns it into a 503 with ``Retry-After`` in the surface's own error shape: the Auth0
envelope under ``/api/v2/``, the OAuth error shape (``temporarily_unavailable``, RFC 6749
§4.1.2.1) everywhere else. ``handler500`` and ``handler400`` (``portal.platform.error_pages``) do the
same for what fails outside a view: the session middleware creating a session (the outage itself
reaches ``handler500``) or saving one (Django raises ``SessionInterrupted``, a 400, while handling
the outage), so no outage ever shows as a 500 or a 400.

Connecting fails fast: PostgreSQL refuses connections at once while it is down, and
``DATABASE_CONNECT_TIMEOUT`` bounds a connection attempt to a host that does not answer.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is temporarily unavailable. Try again shortly."
API_PREFIX = "/api/v2/"


def is_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def caused_by_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` is an outage, or was raised from one or while handling one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if is_outage(exc):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def unavailable_response(request) -> JsonResponse:
    if request.path.startswith(API_PREFIX):
        body = {"statusCode": 503, "error": "Service Unavailable", "message": MESSAGE, "errorCode": "unavailable"}
    else:
        body = {"error": "temporarily_unavailable", "error_description": MESSAGE}
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Place it early: it must see the exceptions of every view below it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_outage(exception):
            return None
        logger.error(
            "Database unavailable for %s %s: %s: %s",
            request.method,
            request.path,
            exception.__class__.__name__,
            exception,
        )
        return unavailable_response(request)
