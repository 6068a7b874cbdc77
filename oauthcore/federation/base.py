"""What every enterprise strategy gives the sign-in flow, and what it may raise.

A strategy (``oauthcore.federation.oidc``, ``oauthcore.federation.saml``) knows one protocol:
it checks and normalises its connection's options, sends the browser to the identity provider
(``begin``) and verifies what comes back (``complete``), returning a ``FederatedProfile``. The
flow around it (``oauthcore.federation.flow``) keeps the sign-in's state in the session, turns a
profile into a user (``oauthcore.services.federated_users``) and answers errors on our own page.
"""

from dataclasses import dataclass, field
from typing import Protocol

from django.http import HttpRequest, HttpResponse

from oauthcore.models import Connection

# The profile fields a strategy maps from the provider's claims or attributes, in Auth0's names.
PROFILE_FIELDS = ("email", "email_verified", "name", "given_name", "family_name", "nickname", "picture")


class FederationError(Exception):
    """A sign-in at an identity provider that cannot complete, said for the person at the browser.

    ``message`` is shown on our own error page (never a redirect to an app's callback); ``reason``
    is a short machine-readable code for the audit log (``upstream_unreachable``, ``bad_signature``,
    ``replayed``, ``nonce_mismatch``...); ``detail`` goes to the audit log only.
    """

    def __init__(self, message: str, *, reason: str, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FederatedProfile:
    """Who the identity provider says signed in. ``subject`` is their stable id at the provider
    (an ID token's ``sub``, a SAML NameID); ``attributes`` the mapped profile (``PROFILE_FIELDS``)."""

    subject: str
    attributes: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)  # every claim or attribute received, for the admin's test page


@dataclass(frozen=True)
class OptionsCheck:
    """A strategy's verdict on options sent by the API, the admin or the setup page: the options to
    store (normalised, without secrets), the secrets to seal, or errors by option name."""

    options: dict
    secrets: dict
    errors: dict[str, str]


class Strategy(Protocol):
    # Option names that are secrets: accepted on write, sealed, never returned.
    secret_options: frozenset[str]

    def check_options(self, options: dict, *, current: Connection | None) -> OptionsCheck:
        """Validate ``options`` (all of them on create; on update the merged result), fetching
        metadata or discovery documents when the options point to them."""

    def begin(self, request: HttpRequest, connection: Connection, *, state: str) -> tuple[HttpResponse, dict]:
        """The response that sends the browser to the provider, and what ``complete`` will need
        (a nonce, a PKCE verifier, a request id), kept in the session under ``state``."""

    def complete(self, request: HttpRequest, connection: Connection, *, flow: dict) -> FederatedProfile:
        """Verify the provider's answer in ``request`` against ``flow`` (what ``begin`` kept).
        Raises ``FederationError``."""
