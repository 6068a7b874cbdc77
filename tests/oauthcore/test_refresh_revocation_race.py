"""A refresh that races a revocation: the revocation wins; the refresh gets invalid_grant, never new tokens or a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import set_token_value
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from oauthcore.constants import AppType, GrantType
from oauthcore.models import AccessToken, RefreshToken
from oauthcore.services.tokens import tokens_revoke
from oauthcore.validator import PolicyValidator

pytestmark = pytest.mark.django_db

SCOPE = "offline_access read:things"


@pytest.mark.parametrize("app_type", [AppType.SPA, AppType.REGULAR_WEB], ids=["rotating", "non-rotating"])
def test_a_revoked_refresh_token_issues_nothing(app_type, make_app, make_api, actor, django_user_model):
    api = make_api(allow_offline_access=True, skip_consent_for_verifiable_first_party_clients=True)
    grant_types = [GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN]
    app = make_app(app_type=app_type, grant_types=grant_types)
    user = django_user_model.objects.create_user(username="racer", password="a long passphrase 3")
    access = AccessToken(
        application=app, user=user, resource=[api.identifier], scope=SCOPE, expires=timezone.now() + timedelta(hours=1)
    )
    set_token_value(access, "old-access-token")
    access.save()
    refresh = RefreshToken(application=app, user=user, access_token=access, resource=[api.identifier])
    set_token_value(refresh, "old-refresh-token")
    refresh.save()

    request = Request("https://issuer.example/oauth/token", http_method="POST")
    request.client, request.grant_type, request.scope = app, "refresh_token", None
    validator = PolicyValidator()
    assert validator.validate_refresh_token("old-refresh-token", app, request)

    # The user takes the consent back while the refresh request is between validation and saving.
    tokens_revoke(actor=actor, applications=[app.pk], user=user, audience=api.identifier, reason="consent revoked")

    issued = {"access_token": "new-access", "refresh_token": "new-refresh", "scope": SCOPE, "expires_in": 60}
    with pytest.raises(InvalidGrantError, match="revoked"):
        validator.save_bearer_token(issued, request)
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
