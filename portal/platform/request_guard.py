"""Refuse requests carrying text no database can store, before any view sees them.

* NUL characters: PostgreSQL cannot store or even compare text containing NUL (psycopg refuses to
  send it), so a NUL in a client id, a token or a path would turn a lookup into a 500.
* Lone surrogates: a JSON body may spell one as an escape (``"\\ud800"``, valid JSON text per
  RFC 8259 §8.2), but the string it decodes to has no UTF-8 encoding, so every write, query or
  re-encoding of it fails (the token endpoint's JSON bodies, dynamic registration, the management
  API alike). Form bodies and query strings cannot carry one: Django decodes them with
  replacement characters.

Nothing legitimate ever sends either: the request is answered 400 in the shape of the surface
that was called (``portal.platform.error_pages.bad_request``), on every database alike, and so is
a form Django cannot decode (one declaring a charset other than UTF-8). The answer is returned, not
raised: Django answers a raised ``BadRequest`` with its HTML debug page when ``DEBUG`` is on, which
no API client can read.
"""

import json
import re

from django.core.exceptions import BadRequest
from django.utils.log import log_response

from portal.platform.error_pages import bad_request

NUL = "\x00"
ESCAPED_NUL = b"\\u0000"
# A UTF-16 surrogate escape (high or low); only a parse tells a lone one from a valid pair.
ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_nul(query_dict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists())


def _has_lone_surrogate(body: bytes) -> bool:
    if not ESCAPED_SURROGATE.search(body):
        return False
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: arrays nested too deep
        return False  # not JSON at all: the view answers that
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class RejectUnstorableTextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            problem = self.problem(request)
        except BadRequest as exc:  # a form body Django refuses to decode
            problem = exc
        if problem is None:
            return self.get_response(request)
        response = bad_request(request, problem)
        # Logged as Django logs a BadRequest raised by a view.
        log_response("%s: %s", str(problem), request.path, response=response, request=request, exception=problem)
        return response

    def problem(self, request) -> BadRequest | None:
        if self.carries_nul(request):
            return BadRequest("NUL character in the request.")
        if self.carries_lone_surrogate(request):
            return BadRequest("Lone surrogate in the JSON body.")
        return None

    @staticmethod
    def carries_nul(request) -> bool:
        if NUL in request.path or _has_nul(request.GET):
            return True
        if request.method not in ("POST", "PUT", "PATCH"):
            return False
        if request.content_type == "application/json":
            return ESCAPED_NUL in request.body or NUL.encode() in request.body
        if request.content_type == "application/x-www-form-urlencoded":
            return _has_nul(request.POST)
        return False

    @staticmethod
    def carries_lone_surrogate(request) -> bool:
        if request.method not in ("POST", "PUT", "PATCH") or request.content_type != "application/json":
            return False
        return _has_lone_surrogate(request.body)
