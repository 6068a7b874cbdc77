"""The partner app's Django admin: partners and their members, invitations, access requests, the
email outbox, the core's application pages with the partner that owns each app, and the console's
home (``dashboard``: the admin index, which needs both partner and core data).

Django's autodiscovery imports this package; importing each module registers its ModelAdmins.
``applications`` comes last: it replaces the core ``Application`` registration rather than adding one.
"""

from portal.partners.admin import access_requests, dashboard, invitations, memberships, partners

# isort: split
from portal.partners.admin import applications

__all__ = ["access_requests", "applications", "dashboard", "invitations", "memberships", "partners"]
