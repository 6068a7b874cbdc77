"""``handler400`` and ``handler500``: errors Django raises before or around a view, in the shape of
the surface that was called. Pages get Django's plain error pages; the OAuth endpoints the RFC 6749
error object; the management API the Auth0 envelope (a body Django cannot even parse, e.g. a form
that declares a charset other than UTF-8, must still be answered in the client's language).
"""

import sys

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist, loader
from django.views import defaults

from portal.platform.csp import decision_page
from portal.platform.unavailable import API_PREFIX, is_outage, unavailable_response

# The JSON surfaces other than the management API: the OAuth endpoints.
OAUTH_PATHS = ("/oauth/", "/userinfo", "/oidc/")


def bad_request(request, exception=None, *args, **kwargs):
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


def server_error(request, *args, **kwargs):
    """A database outage outside a view is still a 503 (portal.platform.unavailable), anything else a 500."""
    if is_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    return defaults.server_error(request, *args, **kwargs)
