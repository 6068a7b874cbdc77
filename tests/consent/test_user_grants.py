"""One consent per (user, application, API); revoking it revokes the tokens it allowed."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import UserGrant
from consent.services import user_grant_revoke
from oauthcore.models import AccessToken, AuditEvent, RefreshToken
from tests.celery_worker import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="enduser", password="a long passphrase 2")


def test_one_consent_per_user_client_audience(user, make_app, make_api):
    app, api = make_app(is_first_party=False), make_api()
    grant = UserGrant.objects.create(user=user, client=app, audience=api.identifier, scope=["read:things"])
    assert len(grant.id) == 24
    with (
        pytest.raises(
            IntegrityError,
            match=r"usergrant_one_per_user_client_audience|consent_usergrant.user_id, consent_usergrant.client_id",
        ),
        transaction.atomic(),
    ):
        UserGrant.objects.create(user=user, client=app, audience=api.identifier, scope=["write:things"])


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_revoking_consent_revokes_its_tokens_only(user, make_app, make_api, actor):
    """The consent goes at once; its tokens go through a task (a real worker when a broker is set)."""
    app, api, other = make_app(is_first_party=False), make_api(), make_api()
    grant = UserGrant.objects.create(user=user, client=app, audience=api.identifier, scope=["read:things"])
    expires = timezone.now() + timedelta(hours=1)
    access = AccessToken.objects.create(
        token="a1", application=app, user=user, resource=[api.identifier], expires=expires
    )
    refresh = RefreshToken.objects.create(
        token="r1", application=app, user=user, access_token=access, resource=[api.identifier]
    )
    other_access = AccessToken.objects.create(
        token="a2", application=app, user=user, resource=[other.identifier], expires=expires
    )
    grant_id = grant.pk
    user_grant_revoke(actor=actor, grant=grant)
    assert not UserGrant.objects.filter(pk=grant_id).exists()
    wait_for(lambda: not AccessToken.objects.filter(pk=access.pk).exists(), message="access token revoked")
    refresh.refresh_from_db()
    assert refresh.revoked is not None
    assert AccessToken.objects.filter(pk=other_access.pk).exists()
    assert AuditEvent.objects.filter(action="consent.revoke", target_id=grant_id).exists()
