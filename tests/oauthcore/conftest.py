"""A tenant for the hot-path tests: an API crowded with other apps' grants, and a partner's web app."""

import pytest
from django.contrib.auth import get_user_model

from consent.services import user_grant_record
from oauthcore.constants import DATABASE_CONNECTION_NAME, AppType, SubjectType
from oauthcore.models import Connection
from oauthcore.services.applications import application_create
from oauthcore.services.connections import connection_set_domain_level
from tests.oauthcore.flows import CALLBACK


@pytest.fixture
def crowded(make_api, make_app, make_grant):
    """An API, and other apps and grants on it: they must change nothing."""
    api = make_api()
    for n in range(10):
        make_grant(api, client=make_app(name=f"other {n}"), scope=["read:things"])
    return api


@pytest.fixture
def partner_web(actor, crowded, make_grant):
    """A strict third-party web app with a user grant on ``crowded``, and a user of a domain-level
    connection who consented to it: (IssuedCredentials, user)."""
    issued = application_create(
        actor=actor, name="Partner web", app_type=AppType.REGULAR_WEB, is_first_party=False, callbacks=[CALLBACK]
    )
    make_grant(crowded, client=issued.application, scope=["read:things"], subject_type=SubjectType.USER)
    connection = Connection.objects.get(name=DATABASE_CONNECTION_NAME)
    connection_set_domain_level(actor=actor, connection=connection, is_domain_connection=True)
    user = get_user_model().objects.create_user(username="carol", email="carol@example.com", password=None)
    user_grant_record(user=user, client=issued.application, audience=crowded.identifier, scopes=["read:things"])
    return issued, user


@pytest.fixture
def three_failures_lock(settings):
    """The third wrong password for a name or an account locks it out from that address."""
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"login_failures": "3/15m"}}


# The enterprise strategies' test providers (started only by the tests that ask for them).
from tests.oauthcore.federation_fixtures import identity_provider, saml_idp  # noqa: E402, F401
