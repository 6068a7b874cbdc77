"""The management API's client create and update are bounded by the client metadata limits, before
any URL is parsed, with the API's error envelope."""

import pytest

from oauthcore.conf import DEFAULTS
from oauthcore.models import Application
from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db

MAX_URIS = DEFAULTS["CLIENT_METADATA_MAX_URIS"]
FLOOD = [f"https://flood.example.com/{n}" for n in range(60_000)]


@pytest.fixture
def admin(api):
    return api("create:clients", "update:clients", "read:clients")


@pytest.mark.parametrize("field", ["callbacks", "allowed_origins", "web_origins"])
def test_sixty_thousand_urls_are_refused_before_any_is_parsed(admin, field):
    response = admin.post("/api/v2/clients", {"name": "Flood", field: FLOOD}, format="json")
    assert_error(response, 400, "invalid_body", f"{field} holds at most {MAX_URIS} URLs (60000 given)")
    assert not Application.objects.filter(name="Flood").exists()


def test_a_url_longer_than_the_limit_is_refused(admin):
    longest = DEFAULTS["CLIENT_METADATA_MAX_URI_LENGTH"]
    body = {"name": "Long", "callbacks": ["https://a.example.com/" + "a" * longest]}
    assert_error(admin.post("/api/v2/clients", body, format="json"), 400, "invalid_body", f"at most {longest}")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("grant_types", ["authorization_code"] * 1000, "grant_types holds at most 10 items"),
        ("client_metadata", {f"k{n}": "v" for n in range(1000)}, "client_metadata holds at most 10 keys"),
        ("client_metadata", {"k" * 60_000: "v"}, "client_metadata keys and values are strings of at most 255"),
    ],
)
def test_other_lists_and_keys_are_bounded(admin, field, value, message):
    assert_error(
        admin.post("/api/v2/clients", {"name": "Big", field: value}, format="json"), 400, "invalid_body", message
    )
    assert not Application.objects.filter(name="Big").exists()


def test_an_update_is_bounded_too(admin):
    client_id = admin.post("/api/v2/clients", {"name": "Small"}, format="json").json()["client_id"]
    response = admin.patch(f"/api/v2/clients/{client_id}", {"callbacks": FLOOD}, format="json")
    assert_error(response, 400, "invalid_body", f"holds at most {MAX_URIS} URLs")
    assert Application.objects.get(client_id=client_id).callbacks == []
    many = [f"https://a.example.com/{n}" for n in range(MAX_URIS)]
    assert admin.patch(f"/api/v2/clients/{client_id}", {"callbacks": many}, format="json").status_code == 200


def test_arrays_nested_too_deep_are_a_400_not_a_500(admin):
    response = admin.generic("POST", "/api/v2/clients", "[" * 20_000, content_type="application/json")
    assert_error(response, 400, "invalid_body")
