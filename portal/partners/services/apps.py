"""Partners' apps: core applications owned by a partner, and what a partner may register or change."""

from django.core.exceptions import ValidationError
from django.db import transaction

from oauthcore.audit import Actor
from oauthcore.constants import AppType, CreatedVia, GrantType, SecurityMode
from oauthcore.models import Application
from oauthcore.services.applications import (
    IssuedCredentials,
    application_create,
    application_errors,
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


def partner_ownership_errors(*, is_first_party: bool, third_party_security_mode: str) -> dict[str, str]:
    """Why an app of this kind cannot belong to a partner, by field (empty when it can).

    The portal tells a partner their apps are third party and strict, and the access decision must
    treat them so: a partner-owned app is never first party nor permissive, whoever registers it.
    """
    errors = {}
    if is_first_party:
        errors["is_first_party"] = "An app owned by a partner is third party: it cannot be first party."
    if third_party_security_mode not in ("", SecurityMode.STRICT):
        errors["third_party_security_mode"] = "An app owned by a partner is strict: it cannot be permissive."
    return errors


def partner_application_create(
    *,
    actor: Actor,
    partner: Partner,
    is_first_party: bool = False,
    third_party_security_mode: str = SecurityMode.STRICT,
    **arguments,
) -> IssuedCredentials:
    """An application (``application_create``'s arguments) owned by ``partner``: the app and its link
    in one transaction. Third party and strict unless asked otherwise, and then refused rather than
    quietly changed. The tenant admin's add page uses it as is; the portal through partner_app_create."""
    errors = partner_ownership_errors(
        is_first_party=is_first_party, third_party_security_mode=third_party_security_mode
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        issued = application_create(
            actor=actor, is_first_party=False, third_party_security_mode=SecurityMode.STRICT, **arguments
        )
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
        grant_types=_grant_types(app_type, refresh_tokens),
        **fields,
    )


def partner_app_errors(
    *, application: Application | None = None, app_type: str = "", refresh_tokens: bool = False, **fields
) -> dict[str, list[str]]:
    """What ``partner_app_create`` (no ``application``: a new app of ``app_type``) or ``partner_app_update``
    would refuse, by field, without saving: the portal's forms show it with their own errors."""
    if application is None:
        application = Application(
            app_type=app_type,
            created_via=CreatedVia.PORTAL,
            is_first_party=False,
            third_party_security_mode=SecurityMode.STRICT,
        )
    grant_types = _grant_types(application.app_type, refresh_tokens)
    return application_errors(application=application, grant_types=grant_types, **fields)


def partner_app_update(*, actor: Actor, application, refresh_tokens: bool = False, **fields):
    """What a partner may change: the app's details and URLs, and whether it uses refresh tokens."""
    return application_update(
        actor=actor,
        application=application,
        grant_types=_grant_types(application.app_type, refresh_tokens),
        **fields,
    )
