"""The emails the partner portal sends. Each is queued in the outbox inside the caller's transaction.

Links point at the issuer (``PORTCULLIS_ISSUER``), never at the Host header of the request that
caused the email: a forged Host must not turn a verification or invitation link into a phishing one.
"""

import logging

from django.template.loader import render_to_string
from django.urls import reverse

from oauthcore.conf import portcullis_settings
from oauthcore.models import TenantSettings
from oauthcore.outbox import email_queue
from portal.partners.selectors import partner_manager_addresses, tenant_admin_addresses

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    return portcullis_settings.issuer + path


def _queue(kind: str, to: list[str], template: str, context: dict) -> None:
    if not to:
        logger.warning("No recipient for the %s email; nothing queued.", kind)
        return
    tenant = TenantSettings.load()
    context = {"tenant_name": tenant.friendly_name, "support_email": tenant.support_email, **context}
    subject = render_to_string(f"portal/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"portal/email/{template}.txt", context)
    email_queue(kind=kind, to=to, subject=" ".join(subject.split()), body=body)


def send_email_verification(*, partner, user, token: str, days: int) -> None:
    link = absolute_url(reverse("portal:verify-email", args=[token]))
    _queue(
        "partner.verify_email",
        [user.email],
        "verify_email",
        {"partner": partner, "user": user, "link": link, "days": days},
    )


def send_invitation(*, invitation, token: str, days: int) -> None:
    link = absolute_url(reverse("portal:invitation", args=[token]))
    _queue(
        "partner.invitation",
        [invitation.email],
        "invitation",
        {"invitation": invitation, "partner": invitation.partner, "link": link, "days": days},
    )


def notify_partner_waiting(*, partner) -> None:
    """Tenant admins: a verified partner waits for their approval."""
    link = absolute_url(reverse("admin:portal_partner_change", args=[partner.pk]))
    _queue("partner.awaiting_approval", tenant_admin_addresses(), "partner_waiting", {"partner": partner, "link": link})


def notify_partner_activated(*, partner) -> None:
    link = absolute_url(reverse("portal:dashboard", args=[partner.pk]))
    _queue(
        "partner.activated", partner_manager_addresses(partner), "partner_activated", {"partner": partner, "link": link}
    )


def notify_access_requested(*, request) -> None:
    """Tenant admins: a partner asks for access; the link opens the decision in the admin."""
    link = absolute_url(reverse("admin:portal_accessrequest_change", args=[request.pk]))
    _queue("access_request.created", tenant_admin_addresses(), "access_requested", {"request": request, "link": link})


def notify_access_decided(*, request) -> None:
    """The partner: whoever asked, and the partner's owners and admins."""
    recipients = partner_manager_addresses(request.partner, also=request.requested_by)
    link = absolute_url(reverse("portal:app", args=[request.partner_id, request.client.client_id]))
    _queue(f"access_request.{request.status}", recipients, "access_decided", {"request": request, "link": link})
