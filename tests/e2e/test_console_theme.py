"""The console's theme (django-admin-interface): Portcullis's own look, every asset from our own
origin, nothing blocked by the admin's Content Security Policy, at a desktop's and a phone's width."""

from urllib.parse import urlsplit

import pytest

from tests.e2e.console import WIDTHS, overflow


@pytest.mark.parametrize("width", WIDTHS)
def test_the_console_wears_the_portcullis_theme_with_local_assets(console, width):
    page = console.open("/admin/", width=width)
    assert page.locator("#site-name").inner_text().strip() == "Portcullis console"
    assets = page.evaluate(
        "[...document.querySelectorAll('link[rel=stylesheet], script[src]')].map(e => e.href || e.src)"
    )
    assert any("admin_interface" in url for url in assets), assets
    origin = urlsplit(console.live_server.url).netloc
    assert {urlsplit(url).netloc for url in assets} == {origin}, assets
    csp = page.request.get(page.url).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert overflow(page) == 0


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "path",
    ["/admin/oauthcore/application/", "/admin/oauthcore/simulator/", "/admin/oauthcore/access-matrix/"],
)
def test_the_themed_console_keeps_its_own_pages_working(console, path, width):
    page = console.open(path, width=width)
    assert page.locator("#site-name").inner_text().strip() == "Portcullis console"
    assert page.locator("#content").is_visible()
    assert overflow(page) == 0  # wide tables scroll inside their own box, the page never sideways


def admin_pages():
    """Every list, add form and first change page the console offers for the demo tenant."""
    from django.contrib import admin
    from django.urls import reverse

    pages = []
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        pages.append(reverse("admin:{}_{}_add".format(*info)))  # a 403 where the console offers no add form
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return pages


def test_every_console_page_renders_in_the_theme_without_breaking_the_policy(console):
    """Lists, add forms and change pages (inlines, widgets, actions) all load, themed, with no script
    refused by the Content Security Policy (the fixture fails the test on any violation)."""
    page = console.open("/admin/", width=1440)
    failures = []
    for path in admin_pages():
        response = page.goto(console.live_server.url + path)
        if response.status >= 400 and response.status != 403:
            failures.append(f"{path}: {response.status}")
        elif response.status == 200 and page.locator("#site-name").count() != 1:
            failures.append(f"{path}: not themed")
    assert failures == []
    assert len(admin_pages()) > 40


@pytest.mark.parametrize("width", WIDTHS)
def test_the_one_time_secret_and_the_rotate_action_work_in_the_theme(console, width):
    page = console.open("/admin/oauthcore/application/add/", width=width)
    page.fill("#id_name", "Themed Console App")
    page.select_option("#id_app_type", "non_interactive")
    page.click("input[name=_save]")
    secret = page.locator(".client-secret").first
    secret.wait_for()  # the list page the save leads to, with its one-time message
    assert "will not be shown again" in secret.inner_text()
    assert overflow(page) == 0  # the secret wraps on a phone instead of running off the screen
    page.goto(console.live_server.url + "/admin/oauthcore/application/?q=Themed+Console+App")
    page.locator("input[name=_selected_action]").first.check()
    page.select_option("select[name=action]", "rotate_secret")
    page.click("button[name=index]")
    page.locator(".client-secret").first.wait_for()
    assert "The new client secret of Themed Console App" in page.locator(".client-secret").first.inner_text()
