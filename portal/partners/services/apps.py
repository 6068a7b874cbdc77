"""Partners' apps: core applications owned by a partner, and what a partner may register or change."""

from django.db import transaction

from oauthcore.audit import Actor
from oauthcore.constants import AppType, CreatedVia, GrantType, SecurityMode
from oauthcore.models import Application
from oauthcore.services.applications import (
    IssuedCredentials,
    application_create,
    application_update,
    applications_set_suspended,
)
from portal.partners.models import Partner, PartnerApplication, PartnerStatus

INTERACTIVE_APP_TYPES = (AppType.REGULAR_WEB, AppType.SPA, AppType.NATIVE)


def _grant_types(app_type: str, refresh_tokens: bool) -> list[str]:
    """Machine-to-machine apps use client credentials; the others the authorization code (and refresh)."""
    if app_type not in INTERACTIVE_APP_TYPES:
        return [GrantType.CLIENT_CREDENTIALS.value]
    return [GrantType.AUTHORIZATION_CODE.value] + ([GrantType.REFRESH_TOKEN.value] if refresh_tokens else [])


def partner_application_create(*, actor: Actor, partner: Partner, **arguments) -> IssuedCredentials:
    """An application (``application_create``'s arguments) owned by ``partner``: the app and its link
    in one transaction. The tenant admin's add page uses it as is; the portal through partner_app_create."""
    with transaction.atomic():
        issued = application_create(actor=actor, **arguments)
        PartnerApplication.objects.create(partner=partner, application=issued.application)
        if partner.status == PartnerStatus.SUSPENDED:  # the tenant admin adding an app to a suspended partner
            applications_set_suspended(
                actor=actor,
                applications=Application.objects.filter(pk=issued.application.pk),
                suspended=True,
                reason="partner suspended",
            )
            issued.application.suspended = True
    return issued


def partner_app_create(
    *, actor: Actor, partner: Partner, name: str, app_type: str, refresh_tokens: bool = False, **fields
) -> IssuedCredentials:
    """A partner's app: always third party and strict, registered through the portal."""
    return partner_application_create(
        actor=actor,
        partner=partner,
        name=name,
        app_type=app_type,
        created_via=CreatedVia.PORTAL,
        is_first_party=False,
        third_party_security_mode=SecurityMode.STRICT,
        grant_types=_grant_types(app_type, refresh_tokens),
        **fields,
    )


def partner_app_update(*, actor: Actor, application, refresh_tokens: bool = False, **fields):
    """What a partner may change: the app's details and URLs, and whether it uses refresh tokens."""
    return application_update(
        actor=actor,
        application=application,
        grant_types=_grant_types(application.app_type, refresh_tokens),
        **fields,
    )
