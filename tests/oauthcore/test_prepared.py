"""Prepared lookups answer exactly as the querysets they were built from."""

import pytest
from django.db.models import Value

from oauthcore.constants import AppType
from oauthcore.models import Application, ResourceServer
from oauthcore.policy_cache import client_with_stamp
from oauthcore.prepared import PreparedLookup

pytestmark = pytest.mark.django_db

BY_CLIENT_ID = PreparedLookup(
    lambda client_id: Application.objects.filter(client_id=client_id).annotate(label=Value("x")), "\x1fmarker"
)


def test_a_prepared_lookup_returns_the_row_the_queryset_would(make_app):
    app = make_app(
        name="Typed",
        app_type=AppType.SPA,
        web_origins=["https://spa.example.com"],
        client_metadata={"team": "blue"},
        callbacks=["https://spa.example.com/cb"],
    )
    make_app(name="Another")
    found = BY_CLIENT_ID.first(app.client_id)
    expected = Application.objects.get(pk=app.pk)
    assert isinstance(found, Application) and found.pk == app.pk
    for field in Application._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert found.web_origins == ["https://spa.example.com"] and found.client_metadata == {"team": "blue"}
    assert found.label == "x"  # annotations come along
    assert found._state.adding is False and found._state.db == "default"
    assert BY_CLIENT_ID.first("no-such-client") is None


def test_a_prepared_values_lookup_returns_converted_tuples(make_api):
    api = make_api(identifier="https://values.example.com/", token_lifetime=1234)
    lookup = PreparedLookup(
        lambda identifier: ResourceServer.objects.filter(identifier=identifier).values_list(
            "identifier", "token_lifetime", "created_at"
        ),
        "\x1fmarker",
    )
    identifier, lifetime, created = lookup.row(api.identifier)
    assert (identifier, lifetime, created) == (api.identifier, 1234, ResourceServer.objects.get(pk=api.pk).created_at)
    assert created.tzinfo is not None
    assert lookup.row("https://nothing.example.com/") is None
    with pytest.raises(TypeError):
        lookup.first(api.identifier)


def test_parameters_that_the_queryset_would_transform_are_refused():
    lookup = PreparedLookup(lambda name: Application.objects.filter(name__icontains=name), "\x1fmarker")
    with pytest.raises(ValueError, match="exact lookups"):
        lookup.first("x")
    joined = PreparedLookup(
        lambda client_id: Application.objects.select_related("user").filter(client_id=client_id), "m"
    )
    with pytest.raises(ValueError, match="select_related"):
        joined.first("x")


def test_a_client_id_no_database_can_hold_is_an_unknown_client(client, make_app):
    assert client_with_stamp("bad\x00client") is None
    response = client.post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": "bad\x00client", "client_secret": "s"}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
