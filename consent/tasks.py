"""Taking back what a revoked consent allowed."""

from django.contrib.auth import get_user_model

from oauthcore.audit import Actor
from oauthcore.services.tokens import tokens_revoke
from portal.platform.tasks_base import portcullis_task


@portcullis_task
def revoke_consent_tokens(*, user_id: int, application_id: int, audience: str) -> None:
    """Revoke the refresh tokens and access tokens issued under a consent. Idempotent."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return  # the user is gone, and their tokens with them
    tokens_revoke(
        actor=Actor.system("consent revocation"),
        applications=[application_id],
        user=user,
        audience=audience,
        reason="consent revoked",
    )
