"""``seed_scale``: a large tenant, streamed in batches, that the server then works with like any other."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from consent.models import UserGrant
from oauthcore.constants import AppType
from oauthcore.models import AccessToken, Application, ClientGrant, PolicyVersion, ResourceServer
from oauthcore.services.applications import application_create, application_rotate_secret
from tests.tools.bulk import BulkWriter
from tests.tools.seed_scale import Command

pytestmark = pytest.mark.django_db

SIZES = {"apps": 60, "client_grants": 110, "user_grants": 300, "tokens": 250, "users": 40, "apis": 7}


def seed(**options) -> str:
    out = StringIO()
    call_command(Command(), yes=True, batch_size=50, stdout=out, **{**SIZES, **options})
    return out.getvalue()


def test_it_refuses_to_write_without_being_told_to():
    with pytest.raises(CommandError, match="--yes"):
        call_command(Command(), stdout=StringIO())  # the full default sizes
    assert not Application.objects.exists()


def test_it_adds_the_sizes_asked_for_in_batches_with_progress():
    before = {model: model.objects.count() for model in (ResourceServer, get_user_model())}
    stamp = PolicyVersion.objects.get().stamp
    output = seed()
    assert Application.objects.count() == 60
    assert ClientGrant.objects.count() == 110
    assert UserGrant.objects.count() == 300
    assert AccessToken.objects.count() == 250
    assert ResourceServer.objects.count() == before[ResourceServer] + 7
    assert get_user_model().objects.count() == before[get_user_model()] + 40
    assert "access tokens: 50 / 250" in output and "access tokens: 250 / 250" in output  # one line per batch
    assert "peak memory" in output
    assert PolicyVersion.objects.get().stamp != stamp  # written around the services: caches must let go


def test_seeded_rows_keep_every_rule_of_the_model():
    seed()
    for app in Application.objects.all():
        assert app.invariant_errors() == {}, (app.name, app.invariant_errors())
    assert {(a.app_type, a.is_first_party, a.third_party_security_mode) for a in Application.objects.all()} == {
        (AppType.NON_INTERACTIVE, False, "strict"),
        (AppType.REGULAR_WEB, False, "strict"),
        (AppType.REGULAR_WEB, False, "permissive"),
        (AppType.NON_INTERACTIVE, True, ""),
        (AppType.SPA, True, ""),
    }
    for grant in ClientGrant.objects.select_related("client", "resource_server"):
        assert grant.invariant_errors() == {}, grant
    tokens = AccessToken.objects.select_related("application")
    assert all(token.audience and token.resource == [token.audience] for token in tokens)
    assert tokens.filter(user__isnull=False).exists() and tokens.filter(user__isnull=True).exists()


def test_a_second_run_adds_as_much_again_and_new_rows_get_fresh_keys(actor):
    seed()
    seed()
    assert Application.objects.count() == 120 and AccessToken.objects.count() == 500
    created = application_create(actor=actor, name="After the seed", app_type=AppType.REGULAR_WEB)
    assert created.application.pk > Application.objects.exclude(pk=created.application.pk).order_by("-pk").first().pk


def test_a_seeded_app_gets_tokens_like_any_other(client, actor):
    seed()
    app = Application.objects.filter(grant_types=["client_credentials"], is_first_party=False).first()
    secret = application_rotate_secret(actor=actor, application=app)  # nobody knows the seeded secret
    audience = app.client_grants.filter(subject_type="client").first().audience
    response = client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret, "audience": audience},
    )
    assert response.status_code == 200, response.content


def test_sizes_that_cannot_be_seeded_are_refused():
    with pytest.raises(CommandError, match="one client grant per application and API"):
        call_command(Command(), yes=True, apps=2, apis=1, client_grants=3, stdout=StringIO())
    with pytest.raises(CommandError, match="negative"):
        call_command(Command(), yes=True, apps=-1, stdout=StringIO())
    assert not Application.objects.exists()


def test_a_bulk_writer_refuses_rows_it_could_not_complete():
    with pytest.raises(ValueError, match="need values for"):
        BulkWriter(ResourceServer, ["identifier"])  # name has no default
    with pytest.raises(ValueError, match="no fields"):
        BulkWriter(ResourceServer, ["identifier", "nickname"])
