"""Auth0's error envelope for every error of the management API.

Every error body is ``{"statusCode", "error", "message", "errorCode"}``, whatever raised it:
DRF's own exceptions, Django validation errors from the services, or a missing object.
"""

from http import HTTPStatus

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from oauthcore.exceptions import ConflictError

ADDITIONAL_PROPERTIES = "__additional_properties__"


class ApiError(exceptions.APIException):
    """An error with an explicit Auth0 ``errorCode``."""

    def __init__(self, status_code: int, message: str, error_code: str, headers: dict | None = None):
        super().__init__(detail=message, code=error_code)
        self.status_code = status_code
        self.error_code = error_code
        self.message = message
        self.headers = headers


class NotFoundError(ApiError):
    def __init__(self, message: str, error_code: str):
        super().__init__(status.HTTP_404_NOT_FOUND, message, error_code)


class InvalidQueryError(ApiError):
    def __init__(self, message: str):
        super().__init__(status.HTTP_400_BAD_REQUEST, f"Query validation error: {message}", "invalid_query_string")


def envelope(status_code: int, message: str, error_code: str) -> dict:
    return {
        "statusCode": status_code,
        "error": HTTPStatus(status_code).phrase,
        "message": message,
        "errorCode": error_code,
    }


def error_response(status_code: int, message: str, error_code: str, headers=None) -> Response:
    return Response(envelope(status_code, message, error_code), status=status_code, headers=headers)


def _flatten(detail, prefix: str = "") -> list[tuple[str, str]]:
    """DRF's nested error detail as (property path, message) pairs."""
    if isinstance(detail, dict):
        pairs = []
        for key, value in detail.items():
            path = prefix if key in ("non_field_errors", "__all__") else (f"{prefix}.{key}" if prefix else str(key))
            pairs += _flatten(value, path)
        return pairs
    if isinstance(detail, list):
        pairs = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list) and value
            pairs += _flatten(value, f"{prefix}[{index}]" if nested else prefix)
        return pairs
    return [(prefix, str(detail))] if str(detail) else []


def payload_error_message(detail) -> str:
    """Auth0's wording: ``Payload validation error: 'message' on property name.``"""
    parts = []
    for path, message in _flatten(detail):
        if path.endswith(ADDITIONAL_PROPERTIES) or path == ADDITIONAL_PROPERTIES:
            parts.append(f"'{message}'")
        elif path:
            parts.append(f"'{message}' on property {path}")
        else:
            parts.append(f"'{message}'")
    return "Payload validation error: " + "; ".join(parts) + "."


# Model field names that the wire calls differently.
WIRE_NAMES = {
    "redirect_uris": "callbacks",
    "resource_server": "audience",
    "client": "client_id",
    "user_policy": "subject_type_authorization.user.policy",
    "client_policy": "subject_type_authorization.client.policy",
    "enable_dynamic_client_registration": "flags.enable_dynamic_client_registration",
}


def django_error_message(error: DjangoValidationError) -> str:
    if hasattr(error, "error_dict"):
        parts = []
        for field, messages in error.message_dict.items():
            for message in messages:
                parts.append(message if field == "__all__" else f"{WIRE_NAMES.get(field, field)}: {message}")
        return " ".join(parts)
    return " ".join(error.messages)


def _auth_headers(exc, context) -> dict:
    headers = {}
    view = context.get("view")
    request = context.get("request")
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    elif view is not None and request is not None and hasattr(view, "get_authenticate_header"):
        header = view.get_authenticate_header(request)
        if header:
            headers["WWW-Authenticate"] = header
    return headers


def exception_handler(exc, context):
    if isinstance(exc, ConflictError):
        return error_response(status.HTTP_409_CONFLICT, django_error_message(exc), "conflict")
    if isinstance(exc, DjangoValidationError):
        return error_response(status.HTTP_400_BAD_REQUEST, django_error_message(exc), "invalid_body")
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.message, exc.error_code, exc.headers)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return error_response(status.HTTP_404_NOT_FOUND, "Not Found", "inexistent_resource")
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_response(
            status.HTTP_401_UNAUTHORIZED, "Missing authentication", "unauthorized", _auth_headers(exc, context)
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        return error_response(
            status.HTTP_401_UNAUTHORIZED, str(exc.detail), "invalid_token", _auth_headers(exc, context)
        )
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response(status.HTTP_403_FORBIDDEN, str(exc.detail), "insufficient_scope")
    if isinstance(exc, exceptions.ValidationError):
        return error_response(status.HTTP_400_BAD_REQUEST, payload_error_message(exc.detail), "invalid_body")
    if isinstance(exc, exceptions.ParseError):
        return error_response(
            status.HTTP_400_BAD_REQUEST, f"Invalid request payload JSON format: {exc.detail}", "invalid_body"
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response(exc.status_code, str(exc.detail), "method_not_allowed")
    if isinstance(exc, exceptions.Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else None
        return error_response(
            exc.status_code, "Too many requests. Check the X-RateLimit-* headers.", "too_many_requests", headers
        )
    if isinstance(exc, exceptions.APIException):
        return error_response(exc.status_code, str(exc.detail), exc.default_code)
    return None
