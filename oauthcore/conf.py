"""Portcullis settings, read from the ``PORTCULLIS`` dict in Django settings, with defaults."""

from django.conf import settings

DEFAULTS = {
    "ISSUER": "http://127.0.0.1:8000",
    "CLIENT_SECRET_BYTES": 48,
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
