"""The consent app as oauthcore's consent store (``PORTCULLIS["CONSENT_STORE"]``): UserGrant rows."""

from collections.abc import Iterable

from consent.models import UserGrant
from consent.selectors import consent_count_for_apis, consented_scopes
from consent.services import user_grant_record, user_grant_revoke, user_grants_forget_api, user_grants_revoke_all


class UserGrantStore:
    """oauthcore.consents.ConsentStore over the consent app's selectors and services."""

    def consented_scopes(self, *, user, client, audience: str, organization=None) -> frozenset[str] | None:
        return consented_scopes(user=user, client=client, audience=audience, organization=organization)

    def record(self, *, user, client, audience: str, scopes: Iterable[str], organization=None) -> None:
        user_grant_record(user=user, client=client, audience=audience, scopes=scopes, organization=organization)

    def answer(
        self, *, user, client, audience: str, shown: Iterable[str], approved: Iterable[str], organization=None
    ) -> None:
        user_grant_record(
            user=user, client=client, audience=audience, scopes=approved, shown=shown, organization=organization
        )

    def consents_of(self, *, user) -> list[UserGrant]:
        return list(UserGrant.objects.filter(user=user).select_related("client").order_by("-updated_at", "pk"))

    def revoke(self, *, actor, user, consent_id: str) -> bool:
        grant = UserGrant.objects.select_related("client").filter(pk=consent_id, user=user).first()
        if grant is None:
            return False
        user_grant_revoke(actor=actor, grant=grant)
        return True

    def revoke_all(self, *, actor, user) -> None:
        user_grants_revoke_all(actor=actor, user=user)

    def count_for_apis(self, *, audiences: Iterable[str]) -> int:
        return consent_count_for_apis(audiences=audiences)

    def forget_api(self, *, actor, audience: str) -> int:
        return user_grants_forget_api(actor=actor, audience=audience)
