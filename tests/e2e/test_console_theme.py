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


@pytest.mark.parametrize(
    "path",
    ["/admin/oauthcore/application/", "/admin/oauthcore/simulator/", "/admin/oauthcore/access-matrix/"],
)
def test_the_themed_console_keeps_its_own_pages_working(console, path):
    page = console.open(path, width=1440)
    assert page.locator("#site-name").inner_text().strip() == "Portcullis console"
    assert page.locator("#content").is_visible()
