"""The tenant admin's console in a real Chromium, as a person sees it: the demo tenant, a signed-in
admin, the two widths every page must fit (a 1440 px desktop and a 390 px phone), and screenshots
in ``tests/e2e/artifacts/`` for a person to look at.

Use ``console`` (a fixture) in a test parametrized over ``WIDTHS``::

    @pytest.mark.parametrize("width", WIDTHS)
    def test_the_dashboard(console, width):
        page = console.open("/admin/", width=width)
        ...
        console.shoot(page, "dashboard", width)
"""

from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

WIDTHS = [1440, 390]
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-demo-password"


def seed_demo(tmp_path: Path) -> str:
    """The demo tenant of ``make run`` (APIs, apps, partners, policies with their labels)."""
    out = StringIO()
    call_command("seed_demo", stdout=out, credentials_file=tmp_path / "demo-credentials.env", force=True)
    return out.getvalue()


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when it fits: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def too_wide(page, selector: str = "body *") -> list[str]:
    """Visible elements that stick out to the right of the window, as short descriptions."""
    return page.evaluate(
        r"""(selector) => {
            const width = window.innerWidth, found = [];
            for (const el of document.querySelectorAll(selector)) {
                const box = el.getBoundingClientRect();
                if (box.width && box.right > width + 1 && getComputedStyle(el).visibility !== 'hidden') {
                    const classes = typeof el.className === 'string' ? el.className.trim() : '';
                    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                                 (classes ? '.' + classes.split(/\s+/).join('.') : '');
                    found.push(`${name} right=${Math.round(box.right)}`);
                }
            }
            return found.slice(0, 10);
        }""",
        selector,
    )


def serve_file(file: Path, content_type: str):
    """A Playwright route handler answering with ``file``."""

    def handle(route, request):
        route.fulfill(path=str(file), content_type=content_type)

    return handle


def fits(page, selector: str = "body *") -> None:
    """No sideways scrolling, and nothing (of ``selector``) sticking out of the window."""
    assert overflow(page) == 0, too_wide(page, selector)
    assert too_wide(page, selector) == []


@dataclass
class Console:
    live_server: object
    chromium: object
    artifacts: Path
    csp_violations: list = field(default_factory=list)
    # Files the browser is handed for outside URLs (an app's https logo on its own host, say).
    served: dict = field(default_factory=dict)
    mobile_below: int = 0  # windows narrower than this are a phone's (touch, its viewport rules)
    _contexts: list = field(default_factory=list)

    def open(
        self, path: str, *, width: int = 1440, height: int = 900, username=ADMIN_USERNAME, password=ADMIN_PASSWORD
    ):
        """A new browser window of ``width`` px, signed in to the admin, showing ``path``."""
        context = self.chromium.new_context(
            viewport={"width": width, "height": height}, is_mobile=width < self.mobile_below
        )
        self._contexts.append(context)
        for url, (file, content_type) in self.served.items():
            context.route(url, serve_file(file, content_type))
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "console",
            lambda m: self.csp_violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        if username:
            page.goto(f"{self.live_server.url}/admin/login/?next={path}")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.wait_for_load_state()
        page.goto(self.live_server.url + path)
        return page

    def shoot(self, page, name: str, width: int) -> Path:
        """``artifacts/{name}-{desktop|phone}.png``, the whole page."""
        path = self.artifacts / f"{name}-{'desktop' if width >= 1000 else 'phone'}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        for context in self._contexts:
            context.close()


@pytest.fixture
def demo_tenant(transactional_db, tmp_path):
    """The demo tenant, seeded into the live server's database."""
    return seed_demo(tmp_path)


@pytest.fixture
def console(live_server, chromium, artifacts, demo_tenant):
    """The console of the demo tenant, in Chromium; no page may break the Content Security Policy."""
    console = Console(live_server=live_server, chromium=chromium, artifacts=artifacts)
    yield console
    console.close()
    assert console.csp_violations == [], console.csp_violations
