"""The live server's end users, and the admin console's fixtures. The browser (a real headless
Chromium driven by Playwright) and the partner app's callback are ``tests.browser``'s fixtures,
shared with every folder of the suite."""

import pytest


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


# The admin console's fixtures (tests/e2e/console.py): the demo tenant and a signed-in admin.
from tests.e2e.console import console, demo_tenant  # noqa: E402, F401

# The enterprise strategies' test providers (started only by the tests that ask for them).
from tests.oauthcore.federation_fixtures import identity_provider, saml_idp  # noqa: E402, F401
