"""An app's logo is an https URL, whichever way it arrives: the pages that show it (the consent screen,
the partner portal) load images over https only, so an http logo would only be a broken image.

One rule (``oauthcore.validation.logo_uri_error``, checked by ``Application.invariant_errors``), in the
answer shape of each surface: an admin form's field error, the management API's error envelope
(tests/oauthcore/api/test_client_logo.py), RFC 7591's
``invalid_client_metadata``. Rows stored before the rule keep working, and their http logo is not shown.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, SubjectType
from oauthcore.models import Application, Connection, TenantSettings
from oauthcore.services.applications import application_create, application_rotate_secret, application_update
from oauthcore.services.connections import connection_set_domain_level
from oauthcore.validation import LOGO_URI_ERROR, logo_uri_error, shown_logo_uri
from tests.oauthcore.flows import CALLBACK, authorize_path

pytestmark = pytest.mark.django_db

HTTP_LOGO = "http://cdn.example.com/logo.png"
HTTPS_LOGO = "https://cdn.example.com/logo.png"


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("", None),
        (HTTPS_LOGO, None),
        ("HTTPS://cdn.example.com/logo.png", None),
        (HTTP_LOGO, LOGO_URI_ERROR),
        ("http://localhost:8000/logo.png", LOGO_URI_ERROR),
        ("ftp://cdn.example.com/logo.png", LOGO_URI_ERROR),
        ("https:///logo.png", LOGO_URI_ERROR),
        ("https://[cdn.example.com/logo.png", LOGO_URI_ERROR),
    ],
)
def test_only_an_https_url_is_a_logo(url, error):
    assert logo_uri_error(url) == error
    assert shown_logo_uri(url) == ("" if error else url)


def legacy_app(actor, **fields) -> Application:
    """An app stored before the rule, with an http logo (written past the model, as an old row is)."""
    app = application_create(actor=actor, name="Legacy", app_type=AppType.REGULAR_WEB, **fields).application
    Application.objects.filter(pk=app.pk).update(logo_uri=HTTP_LOGO)
    return Application.objects.get(pk=app.pk)


def test_the_services_refuse_an_http_logo_on_the_logo_field(actor):
    with pytest.raises(ValidationError) as refused:
        application_create(actor=actor, name="New", app_type=AppType.REGULAR_WEB, logo_uri=HTTP_LOGO)
    assert refused.value.message_dict == {"logo_uri": [LOGO_URI_ERROR]}
    app = application_create(actor=actor, name="New", app_type=AppType.REGULAR_WEB, logo_uri=HTTPS_LOGO).application
    with pytest.raises(ValidationError) as refused:
        application_update(actor=actor, application=app, logo_uri=HTTP_LOGO)
    assert refused.value.message_dict == {"logo_uri": [LOGO_URI_ERROR]}
    assert Application.objects.get(pk=app.pk).logo_uri == HTTPS_LOGO


def test_an_older_row_with_an_http_logo_still_saves_and_its_logo_is_not_shown(actor):
    app = legacy_app(actor)
    application_rotate_secret(actor=actor, application=app)  # a save of its own: the logo is not in the way
    application_update(actor=actor, application=app, name="Legacy, renamed")
    app.refresh_from_db()
    assert (app.name, app.logo_uri, app.shown_logo_uri) == ("Legacy, renamed", HTTP_LOGO, "")
    with pytest.raises(ValidationError):  # changing it means following the rule
        application_update(actor=actor, application=app, logo_uri="http://cdn.example.com/other.png")
    application_update(actor=actor, application=app, logo_uri=HTTPS_LOGO)
    assert Application.objects.get(pk=app.pk).shown_logo_uri == HTTPS_LOGO


def test_the_admin_form_shows_it_on_the_logo_field(admin_client):
    response = admin_client.post(
        reverse("admin:oauthcore_application_add"),
        {
            "name": "Billing",
            "app_type": "regular_web",
            "is_first_party": "on",
            "logo_uri": HTTP_LOGO,
            "redirect_uris": "https://billing.example.com/cb",
            "client_metadata": "{}",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["logo_uri"] == [LOGO_URI_ERROR]
    assert not Application.objects.filter(name="Billing").exists()


@pytest.fixture
def dcr_on(db):
    TenantSettings.objects.update_or_create(id=1, defaults={"enable_dynamic_client_registration": True})


def register(client, **metadata):
    metadata.setdefault("redirect_uris", ["https://agent.example.com/callback"])
    return client.post("/oidc/register", metadata, content_type="application/json")


def test_dynamic_registration_answers_invalid_client_metadata(client, dcr_on):
    response = register(client, client_name="Agent", logo_uri=HTTP_LOGO)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": LOGO_URI_ERROR}
    assert not Application.objects.exists()

    body = register(client, client_name="Agent", logo_uri=HTTPS_LOGO).json()
    management = {"HTTP_AUTHORIZATION": f"Bearer {body['registration_access_token']}"}
    update = {"client_id": body["client_id"], "redirect_uris": body["redirect_uris"], "logo_uri": HTTP_LOGO}
    response = client.put(f"/oidc/register/{body['client_id']}", update, content_type="application/json", **management)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": LOGO_URI_ERROR}
    assert Application.objects.get().logo_uri == HTTPS_LOGO


def test_the_consent_screen_shows_an_https_logo_and_never_an_http_one(client, actor, make_api, make_grant):
    api = make_api()
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    client.force_login(get_user_model().objects.create_user(username="carol", email="carol@example.com"))
    app = legacy_app(actor, is_first_party=False, callbacks=[CALLBACK])
    make_grant(api, client=app, scope=["read:things"], subject_type=SubjectType.USER)

    page = client.get(authorize_path(app, api.identifier))
    assert page.status_code == 200 and "Authorize Legacy" in page.text
    assert HTTP_LOGO not in page.text and "<img" not in page.text

    application_update(actor=actor, application=app, logo_uri=HTTPS_LOGO)
    page = client.get(authorize_path(app, api.identifier))
    assert f'<img class="logo" src="{HTTPS_LOGO}" alt="Legacy logo">' in page.text


def test_the_rule_follows_what_is_stored_not_what_was_first_loaded(actor):
    """Saved once with an https logo, the same instance cannot go back to an http one; reloaded, an
    older http row is what is stored again."""
    app = legacy_app(actor)
    application_update(actor=actor, application=app, logo_uri=HTTPS_LOGO)
    with pytest.raises(ValidationError):
        application_update(actor=actor, application=app, logo_uri=HTTP_LOGO)
    Application.objects.filter(pk=app.pk).update(logo_uri=HTTP_LOGO)
    app.refresh_from_db()
    application_update(actor=actor, application=app, name="Still saves")
    assert Application.objects.get(pk=app.pk).logo_uri == HTTP_LOGO
