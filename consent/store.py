"""The consent app as oauthcore's consent store (``PORTCULLIS["CONSENT_STORE"]``): UserGrant rows."""

from collections.abc import Iterable

from consent.selectors import consent_count_for_apis, consented_scopes
from consent.services import user_grant_record, user_grants_forget_api, user_grants_revoke_all


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

    def revoke_all(self, *, actor, user) -> None:
        user_grants_revoke_all(actor=actor, user=user)

    def count_for_apis(self, *, audiences: Iterable[str]) -> int:
        return consent_count_for_apis(audiences=audiences)

    def forget_api(self, *, actor, audience: str) -> int:
        return user_grants_forget_api(actor=actor, audience=audience)
