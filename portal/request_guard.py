"""Refuse requests carrying NUL characters, before any view sees them.

PostgreSQL cannot store or even compare text containing NUL (psycopg refuses to send it), so a
NUL in a client id, a token or a path would turn a lookup into a 500. Nothing legitimate ever
sends one: the request is answered 400 in the shape of the surface that was called
(``portal.error_pages.bad_request``), on every database alike.
"""

from django.core.exceptions import BadRequest

NUL = "\x00"
ESCAPED_NUL = b"\\u0000"


def _has_nul(query_dict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists())


class RejectNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self.carries_nul(request):
            # Raised, not returned: Django answers it with handler400 (and logs it as a bad request).
            raise BadRequest("NUL character in the request.")
        return self.get_response(request)

    @staticmethod
    def carries_nul(request) -> bool:
        if NUL in request.path or _has_nul(request.GET):
            return True
        if request.method not in ("POST", "PUT", "PATCH"):
            return False
        if request.content_type == "application/json":
            return ESCAPED_NUL in request.body or NUL.encode() in request.body
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                return _has_nul(request.POST)
            except Exception:  # an unreadable body: the view answers that
                return False
        return False
