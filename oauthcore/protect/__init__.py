"""Protecting an API with Portcullis: verify its access tokens, challenge as RFC 6750 and RFC 9728 say.

``core`` is framework-neutral; ``django``, ``drf`` and ``asgi`` adapt it. See README.md,
"Protecting an API with Portcullis".
"""

from oauthcore.protect.core import (
    InsufficientScope,
    InvalidToken,
    JWKSCache,
    MissingToken,
    ProtectedResource,
    TokenError,
    TokenVerifier,
    VerifiedToken,
    bearer_token,
)

__all__ = [
    "InsufficientScope",
    "InvalidToken",
    "JWKSCache",
    "MissingToken",
    "ProtectedResource",
    "TokenError",
    "TokenVerifier",
    "VerifiedToken",
    "bearer_token",
]
