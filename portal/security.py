"""Response headers for pages that ask a person to decide something (login, consent, revocation)."""

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
