"""Content Security Policy: the strict one for pages that ask a person to decide something (login,
consent, revocation), and a default one for every other HTML page (the admin, the API docs)."""

from functools import wraps

from django.views.decorators.clickjacking import xframe_options_deny

# No inline script or style anywhere; htmx is served from our own static files. No form-action:
# after consent the browser must follow the redirect to the application's callback.
STRICT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def decision_page(view):
    """Cannot be framed (X-Frame-Options and CSP frame-ancestors) and runs no inline code."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = view(*args, **kwargs)
        response.setdefault("Content-Security-Policy", STRICT_CSP)
        return response

    return xframe_options_deny(wrapped)


# Every other page: no inline script either; the admin's inline style attributes are allowed.
DEFAULT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class DefaultContentSecurityPolicyMiddleware:
    """Adds ``DEFAULT_CSP`` to HTML responses that set no policy of their own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", DEFAULT_CSP)
        return response
