"""Errors in the MFA API's shape: ``{"error": code, "error_description": sentence}``.

A missing or unusable token is a 401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3: no error code
when no token came, ``error="invalid_token"`` when one did); a token without the endpoint's scope
is a 403 ``insufficient_scope`` naming the scope (RFC 6750 §3.1).
"""

from rest_framework import exceptions, status
from rest_framework.response import Response


class MfaApiError(exceptions.APIException):
    def __init__(self, status_code: int, error: str, description: str, headers: dict | None = None):
        super().__init__(detail=description, code=error)
        self.status_code = status_code
        self.error = error
        self.description = description
        self.headers = headers or {}


def error_response(status_code: int, error: str, description: str, headers: dict | None = None) -> Response:
    return Response({"error": error, "error_description": description}, status=status_code, headers=headers)


def _challenge(context, extra: str = "") -> dict:
    view = context.get("view")
    request = context.get("request")
    header = view.get_authenticate_header(request) if view is not None and request is not None else 'Bearer realm=""'
    return {"WWW-Authenticate": header + extra}


def exception_handler(exc, context):
    if isinstance(exc, MfaApiError):
        return error_response(exc.status_code, exc.error, exc.description, exc.headers)
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_response(
            status.HTTP_401_UNAUTHORIZED, "unauthorized", "Missing authentication.", _challenge(context)
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        description = str(exc.detail)
        quoted = description.replace("\\", "").replace('"', "'")  # a quoted-string (RFC 6750 §3)
        headers = _challenge(context, f', error="invalid_token", error_description="{quoted}"')
        return error_response(status.HTTP_401_UNAUTHORIZED, "invalid_token", description, headers)
    if isinstance(exc, exceptions.PermissionDenied):
        view = context.get("view")
        scope = " ".join(view.required_scopes_for(context.get("request"))) if view is not None else ""
        headers = _challenge(context, f', error="insufficient_scope", scope="{scope}"')
        return error_response(status.HTTP_403_FORBIDDEN, "insufficient_scope", str(exc.detail), headers)
    if isinstance(exc, exceptions.ParseError):
        return error_response(status.HTTP_400_BAD_REQUEST, "invalid_request", f"Invalid JSON: {exc.detail}")
    if isinstance(exc, exceptions.ValidationError):
        return error_response(status.HTTP_400_BAD_REQUEST, "invalid_request", _first_message(exc.detail))
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response(exc.status_code, "method_not_allowed", str(exc.detail))
    if isinstance(exc, exceptions.NotFound):
        return error_response(status.HTTP_404_NOT_FOUND, "not_found", "Not Found.")
    if isinstance(exc, exceptions.APIException):
        return error_response(exc.status_code, exc.default_code, str(exc.detail))
    return None


def _first_message(detail, prefix: str = "") -> str:
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        return _first_message(value, prefix if key == "non_field_errors" or key.startswith("__") else key)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], prefix)
    return f"{prefix}: {detail}" if prefix else str(detail)
