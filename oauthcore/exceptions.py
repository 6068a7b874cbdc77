from django.core.exceptions import ValidationError


class ConflictError(ValidationError):
    """The write would duplicate a row that must be unique (HTTP 409 on the management API)."""
