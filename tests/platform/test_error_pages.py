"""Every 404 and 500 a person sees is the project's own page, with DEBUG on as with DEBUG off; the
management API keeps its JSON envelope and the OAuth paths their JSON error shape."""

import logging

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

DEBUG_MODES = pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])


def is_ours_404(response) -> bool:
    body = response.content.decode()
    return response.status_code == 404 and "<h1>Page not found</h1>" in body and "Go to the start page" in body


@DEBUG_MODES
@pytest.mark.parametrize("path", ["/no-such-page", "/account/nothing-here", "/portal/no/such/thing"])
def test_an_unknown_page_is_our_404(client, settings, debug, path):
    settings.DEBUG = debug
    response = client.get(path)
    assert is_ours_404(response)
    body = response.content.decode()
    assert "URLconf" not in body and "Using the URLconf" not in body  # Django's technical 404
    assert f"<code>{path}</code>" in body
    assert "Content-Security-Policy" in response.headers


@DEBUG_MODES
def test_a_view_that_raises_http404_gets_our_404(client, settings, debug, django_user_model):
    """The consent app's revoke page: someone else's (or no) consent is "not found"."""
    settings.DEBUG = debug
    client.force_login(django_user_model.objects.create_user(username="bob", password="x" * 20))
    response = client.get("/account/apps/0123456789abcdef01234567/revoke")
    assert is_ours_404(response)
    assert "No UserGrant matches" not in response.content.decode()


@DEBUG_MODES
def test_admin_unknown_pages_are_our_404_too(admin_client, settings, debug):
    settings.DEBUG = debug
    assert is_ours_404(admin_client.get("/admin/oauthcore/nothing/"))


@DEBUG_MODES
def test_a_missing_slash_still_redirects(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/portal")
    assert response.status_code == 301 and response["Location"] == "/portal/"


@DEBUG_MODES
def test_the_management_api_keeps_its_json_404(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v2/no-such-resource")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": response.json()["message"],
        "errorCode": "inexistent_resource",
    }


@DEBUG_MODES
def test_an_unknown_oauth_path_answers_in_json(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/oauth/no-such-endpoint")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"


@DEBUG_MODES
@pytest.mark.urls("tests.platform.failing_urls")
def test_a_failing_page_is_our_500_and_the_traceback_is_logged(settings, debug, caplog):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/failing-page")
    body = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Server error</h1>" in body and "Go to the start page" in body
    assert "RuntimeError" not in body and "a bug in a view" not in body and "SECRET_KEY" not in body
    # The developer still has the traceback, in the log.
    [record] = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert record.exc_info[0] is RuntimeError and "/failing-page" in record.getMessage()


@pytest.mark.urls("tests.platform.failing_urls")
def test_with_debug_on_the_test_client_still_raises_the_views_exception(settings):
    """got_request_exception is sent as Django sends it: a failing view's test fails with its exception."""
    settings.DEBUG = True
    with pytest.raises(RuntimeError, match="a bug in a view"):
        Client().get("/failing-page")


def test_favicon_ico_is_the_sites_icon_for_a_day(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/img/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"] and "public" in response["Cache-Control"]
    with open(finders.find("img/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an .ico file (16, 32 and 48 px)


def test_favicon_ico_refuses_writes(client):
    assert client.post("/favicon.ico").status_code == 405
