"""``handler400``, ``handler404`` and ``handler500``: errors Django raises before or around a view, in
the shape of the surface that was called. Pages get the project's own error pages (``404.html``,
``500.html``), with ``DEBUG`` on too (``ErrorPagesWithDebugMiddleware``); the OAuth endpoints the
RFC 6749 error object; the management API the Auth0 envelope (a body Django cannot even parse, e.g. a
form that declares a charset other than UTF-8, must still be answered in the client's language; an
unknown path under ``/api/v2/`` is answered by the API's own catch-all route).
"""

import sys

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template import TemplateDoesNotExist, loader
from django.utils.log import log_response
from django.views import defaults

from portal.platform.csp import decision_page
from portal.platform.unavailable import API_PREFIX, caused_by_outage, is_outage, unavailable_response

# The JSON surfaces other than the management API: the OAuth endpoints.
OAUTH_PATHS = ("/oauth/", "/userinfo", "/oidc/")


def bad_request(request, exception=None, *args, **kwargs):
    if caused_by_outage(exception):  # a session that could not be saved: the database is down
        return unavailable_response(request)
    if request.path.startswith(API_PREFIX):
        body = {"statusCode": 400, "error": "Bad Request", "message": "Malformed request.", "errorCode": "invalid_body"}
        return JsonResponse(body, status=400)
    if request.path.startswith(OAUTH_PATHS):
        body = {"error": "invalid_request", "error_description": "The request could not be read."}
        response = JsonResponse(body, status=400)
        response["Cache-Control"] = "no-store"
        return response
    if request.path == "/authorize":
        return _authorize_error_page(request)
    return _bad_request_page(request)


@decision_page
def _authorize_error_page(request):
    """The authorization endpoint's own error page, with its headers: an unreadable request has no callback."""
    context = {"error": "invalid_request", "description": "The authorization request could not be read."}
    return render(request, "oauthcore/authorize_error.html", context, status=400)


def _bad_request_page(request):
    """Django's 400 page (``400.html`` where a template provides one), without going through
    ``defaults.bad_request``: its ``requires_csrf_token`` runs the CSRF check, which reads the form
    body again, so a body Django refused to parse (a form declaring a charset other than UTF-8)
    failed a second time inside the error page, and the answer was a 500."""
    try:
        body = loader.get_template(defaults.ERROR_400_TEMPLATE_NAME).render(request=request)
    except TemplateDoesNotExist:
        body = defaults.ERROR_PAGE_TEMPLATE % {"title": "Bad Request (400)", "details": ""}
    return HttpResponseBadRequest(body)


def is_page(request) -> bool:
    """A page a person sees, as opposed to the JSON surfaces (the management API, the OAuth endpoints)."""
    return not request.path.startswith((API_PREFIX, *OAUTH_PATHS))


def page_not_found(request, exception=None, *args, **kwargs):
    """``404.html`` for pages; an OAuth path no endpoint serves answers in the OAuth error shape."""
    if request.path.startswith(OAUTH_PATHS):
        body = {"error": "invalid_request", "error_description": "There is no endpoint at this URL."}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request, *args, **kwargs):
    """A database outage outside a view is still a 503 (portal.platform.unavailable), anything else a 500."""
    if caused_by_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    return defaults.server_error(request, *args, **kwargs)


# Exceptions Django itself answers with handler403 or handler400 (its technical page, with DEBUG on,
# for the 400s: a developer's request, not a visitor's missing page).
ANSWERED_BY_DJANGO = (PermissionDenied, BadRequest, SuspiciousOperation, MultiPartParserError)


class ErrorPagesWithDebugMiddleware:
    """With ``DEBUG`` on, a person still gets the project's 404 and 500 pages, never Django's
    technical ones; with ``DEBUG`` off it does nothing (Django calls the handlers above).

    ``DEBUG`` is on by default (``make run``), and a demo is shown to people who are no developers of
    it: Django's technical 404 lists every URL pattern, its technical 500 the settings, the source and
    the request, a newcomer's first look at the product. A developer loses nothing: the traceback of
    a 500 is logged (``django.request``, to the console ``make run`` prints to) and
    ``got_request_exception`` is sent as Django sends it (the test client re-raises the exception).
    What the JSON surfaces' views raise is left to them. Last in ``MIDDLEWARE``: the pages it returns go
    through every other middleware (security headers, the CSP, ``APPEND_SLASH``'s redirect), and its
    ``process_exception`` runs first, so it leaves a database outage to ``DatabaseUnavailableMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A URL no pattern matches: with DEBUG on, Django's technical 404 (it never calls handler404).
        # handler404 answers instead, in the surface's shape (the management API matches every path).
        unmatched = response.status_code == 404 and request.resolver_match is None
        if settings.DEBUG and unmatched:
            return page_not_found(request)
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG or not is_page(request) or is_outage(exception):
            return None
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        if isinstance(exception, ANSWERED_BY_DJANGO):
            return None
        signals.got_request_exception.send(sender=None, request=request)
        response = defaults.server_error(request)
        log_response(
            "%s: %s", response.reason_phrase, request.path, response=response, request=request, exception=exception
        )
        return response
