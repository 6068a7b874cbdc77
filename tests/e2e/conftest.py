"""A real headless Chromium (Debian's, installed by .ci/run) driven by Playwright."""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the tests still use the ORM from
# that thread on purpose (to set up rows and check results), which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is needed for the browser tests: apt-get install chromium (as .ci/run does).")
    return path


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    """Screenshots for a person to look at (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def alice(db):
    """An end user of the database connection, promoted to domain level so third-party apps see it."""
    from django.contrib.auth import get_user_model

    from oauthcore.audit import Actor
    from oauthcore.models import Connection
    from oauthcore.services.connections import connection_set_domain_level
    from tests.e2e.oauth_helpers import PASSWORD

    connection = Connection.objects.get(name="Username-Password-Authentication")
    connection_set_domain_level(actor=Actor.system("tests"), connection=connection, is_domain_connection=True)
    return get_user_model().objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)


@pytest.fixture(scope="session")
def fake_app():
    """The partner's app, as far as a browser can tell: an HTTP server that accepts its callbacks.

    It is the outside world, so a fake is fine; it only answers 200 so the browser can land there.
    """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"callback reached"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# The admin console's fixtures (tests/e2e/console.py): the demo tenant and a signed-in admin.
from tests.e2e.console import console, demo_tenant  # noqa: E402, F401

# The enterprise strategies' test providers (started only by the tests that ask for them).
from tests.oauthcore.federation_fixtures import identity_provider, saml_idp  # noqa: E402, F401
