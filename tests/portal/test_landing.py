"""``/``: a landing page that sends each visitor where they are going, and the admin's "View site"."""

import pytest

pytestmark = pytest.mark.django_db

DESTINATIONS = {
    "/admin/": "Console",
    "/portal/": "Partner portal",
    "/account/apps": "Your authorized apps",
    "/api/v2/docs": "Management API docs",
}


@pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])
def test_the_landing_page_links_every_surface(client, settings, debug, django_assert_max_num_queries):
    settings.DEBUG = debug
    with django_assert_max_num_queries(2):  # the tenant's name
        response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    for href, label in DESTINATIONS.items():
        assert f'<a href="{href}">{label}</a>' in body
    assert "http://127.0.0.1:8000" in body  # the issuer, with its discovery document
    assert 'href="/.well-known/openid-configuration"' in body
    assert response.templates[0].name == "landing.html"


def test_every_destination_answers(admin_client):
    for href in DESTINATIONS:
        assert admin_client.get(href).status_code == 200, href


def test_the_admins_view_site_is_the_landing_page(admin_client):
    response = admin_client.get("/admin/")
    assert response.context["site_url"] == "/"
    assert '<a href="/">View site</a>' in response.content.decode()
