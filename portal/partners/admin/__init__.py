"""The partner app's Django admin."""

from portal.partners.admin import partners

__all__ = ["partners"]
