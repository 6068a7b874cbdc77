from dataclasses import dataclass, replace

from oauth2_provider.settings import oauth2_settings

from consent.models import UserGrant
from oauthcore.access_tokens import userinfo_audience
from oauthcore.consents import ACCOUNT_TITLE
from oauthcore.models import ResourceServer, ResourceServerScope
from oauthcore.selectors import app_is_unverified


def consented_scopes(*, user, client, audience: str, organization=None) -> frozenset[str] | None:
    """The scopes the user has approved for this app and API (in ``organization``, or outside any),
    or None if never asked."""
    stored = UserGrant.objects.filter(user=user, client=client, audience=audience, organization=organization)
    scope = stored.values_list("scope", flat=True).first()
    return None if scope is None else frozenset(scope)


def authorized_apps(user) -> list[UserGrant]:
    """The user's consents, each with ``permissions`` (value and description), ``unverified`` (the
    app registered itself and no partner owns it), ``api_name`` (what the user reads: the API's name,
    or its identifier if it is gone) and ``api_identifier`` (shown small beside the name, for an API
    only): three statements, however many consents."""
    grants = list(
        UserGrant.objects.filter(user=user)
        .select_related("client__partner_link__partner", "organization")
        .order_by("-updated_at")
    )
    audiences = {grant.audience for grant in grants}
    descriptions = {
        (identifier, value): description
        for identifier, value, description in ResourceServerScope.objects.filter(
            resource_server__identifier__in=audiences
        ).values_list("resource_server__identifier", "value", "description")
    }
    names = dict(ResourceServer.objects.filter(identifier__in=audiences).values_list("identifier", "name"))
    for grant in grants:
        grant.unverified = app_is_unverified(grant.client)
        grant.api_identifier = grant.audience if grant.audience in names else ""
        account = grant.audience == userinfo_audience()
        grant.api_name = names.get(grant.audience) or (ACCOUNT_TITLE if account else grant.audience)
        grant.permissions = [
            {
                "value": value,
                "description": descriptions.get((grant.audience, value)) or oauth2_settings.SCOPES.get(value, value),
            }
            for value in grant.scope
        ]
    return grants


@dataclass(frozen=True)
class ConsentSection:
    """The consents a user gave in one organization (``organization`` None: outside any)."""

    organization: object  # an oauthcore Organization, or None
    grants: list[UserGrant]
    headed: bool = True  # the consents outside any organization get a heading only beside others


def authorized_apps_by_organization(user) -> list[ConsentSection]:
    """``authorized_apps`` in sections: first the consents given outside any organization, then one
    section per organization, by its display name. A consent given while logging in to an
    organization covers that organization only, so the user reads (and revokes) it there. No
    statement beyond ``authorized_apps``'s three."""
    sections: dict[str | None, ConsentSection] = {}
    for grant in authorized_apps(user):
        key = grant.organization_id
        if key not in sections:
            sections[key] = ConsentSection(grant.organization, [])
        sections[key].grants.append(grant)
    named = sorted(
        (section for key, section in sections.items() if key is not None),
        key=lambda section: (section.organization.shown_name.casefold(), section.organization.name),
    )
    outside = [replace(sections[None], headed=bool(named))] if None in sections else []
    return outside + named


def consent_count_for_apis(*, audiences) -> int:
    """How many consents name any of these APIs (one COUNT over the audience index)."""
    return UserGrant.objects.filter(audience__in=list(audiences)).count()
