"""Recording and taking back a user's consent."""

from django.db import transaction

from consent.models import UserGrant
from oauthcore.access_tokens import userinfo_audience
from oauthcore.audit import Actor, record_event
from oauthcore.services.tokens import tokens_revoke


def user_grant_revoke(*, actor: Actor, grant: UserGrant) -> None:
    """Delete the consent and revoke every token issued under it, in one transaction: once it
    commits, the refresh tokens fail and the access tokens introspect inactive (no task to wait for)."""
    with transaction.atomic():
        record_event(
            actor=actor,
            action="consent.revoke",
            target=grant,
            data={"user": grant.user_id, "client_id": grant.client.client_id, "audience": grant.audience},
        )
        tokens_revoke(
            actor=actor,
            applications=[grant.client_id],
            user=grant.user,
            # A /userinfo-only consent is kept under the userinfo URL; its tokens carry no audience.
            audience="" if grant.audience == userinfo_audience() else grant.audience,
            # A consent given in an organization covers the tokens issued there; one outside any
            # covers the others.
            organization=grant.organization,
            reason="consent revoked",
            target=grant,
        )
        grant.delete()


def user_grants_revoke_all(*, actor: Actor, user) -> None:
    """Every consent ``user`` gave, each through ``user_grant_revoke`` (their account was deactivated)."""
    with transaction.atomic():
        for grant in UserGrant.objects.select_related("client").filter(user=user):
            user_grant_revoke(actor=actor, grant=grant)


def user_grants_forget_api(*, actor: Actor, audience: str) -> int:
    """Every consent given for the API ``audience``, taken back in one statement (the API is being
    deleted: its tokens are revoked by the caller). One audit entry says how many."""
    with transaction.atomic():
        deleted, _ = UserGrant.objects.filter(audience=audience).delete()
        if deleted:
            record_event(actor=actor, action="consent.revoke_api", data={"audience": audience, "consents": deleted})
    return deleted


def user_grant_record(*, user, client, audience: str, scopes, shown=(), organization=None) -> UserGrant:
    """Remember what the user approved (``scopes``) for this API (in ``organization``: a consent
    there covers that organization only), added to what they had approved before; of the scopes the
    consent screen showed (``shown``), those not approved now are taken out: the latest answer about a
    scope is the one that stands."""
    approved, withdrawn = set(scopes), set(shown) - set(scopes)
    with transaction.atomic():
        grant, created = UserGrant.objects.select_for_update().get_or_create(
            user=user,
            client=client,
            audience=audience,
            organization=organization,
            defaults={"scope": sorted(approved)},
        )
        withdrawn &= set(grant.scope)
        if not created:
            grant.scope = sorted((set(grant.scope) - withdrawn) | approved)
            grant.save(update_fields=["scope", "updated_at"])
        data = {"client_id": client.client_id, "audience": audience, "scope": sorted(approved)}
        if organization is not None:
            data["organization"] = organization.pk
        if withdrawn:
            data["withdrawn"] = sorted(withdrawn)
        record_event(actor=Actor.user(user), action="consent.grant", target=grant, data=data)
    return grant
