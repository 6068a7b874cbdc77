"""Portcullis settings, read from the ``PORTCULLIS`` dict in Django settings, with defaults."""

from django.conf import settings

DEFAULTS = {
    "ISSUER": "http://127.0.0.1:8000",
    "CLIENT_SECRET_BYTES": 48,
    # Dynamic client registration (RFC 7591): requests per tenant, e.g. "5/s" (Auth0's limit).
    "DCR_RATE": "5/s",
    # Device authorization grant (RFC 8628).
    "DEVICE_CODE_LIFETIME": 600,  # seconds a device code (and its user code) can be used
    "DEVICE_POLL_INTERVAL": 5,  # seconds a device waits between polls; faster polls get slow_down
    # Client ID metadata documents: how they are fetched.
    "CIMD_FETCH_TIMEOUT": 5.0,  # seconds for the whole fetch (connect and read)
    "CIMD_MAX_DOCUMENT_BYTES": 5 * 1024,
    "CIMD_CACHE_SECONDS": 3600,  # how long a fetched document is trusted (a shorter Cache-Control max-age wins)
    "PORTAL_INVITATION_DAYS": 7,
    "PORTAL_VERIFICATION_DAYS": 3,
    "PORTAL_SIGNUP_RATE": "10/h",
    "PORTAL_EMAIL_RATE": "30/h",
}


class PortcullisSettings:
    def __getattr__(self, name: str):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown Portcullis setting: {name}")
        return getattr(settings, "PORTCULLIS", {}).get(name, DEFAULTS[name])

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token and the base of every endpoint URL (no trailing slash)."""
        return self.ISSUER.rstrip("/")

    @property
    def management_api_identifier(self) -> str:
        return f"{self.issuer}/api/v2/"


portcullis_settings = PortcullisSettings()
