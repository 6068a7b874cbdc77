"""Users of enterprise connections: created just in time, updated at each sign-in, never linked by email."""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation.base import FederatedProfile
from oauthcore.models import AuditEvent, Connection, FederatedAssertion, FederationFlow
from oauthcore.services.federated_users import federated_user_sign_in
from oauthcore.services.tokens import expired_tokens_clear

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def acme():
    # The strategies' option checks ask a live provider; these tests are about users only.
    return Connection.objects.create(name="acme", strategy=ConnectionStrategy.OIDC)


@pytest.fixture
def globex():
    return Connection.objects.create(name="globex", strategy=ConnectionStrategy.SAML)


def profile(subject="248289761001", **attributes):
    return FederatedProfile(subject=subject, attributes={"email": "jane@acme.example", **attributes})


def test_the_first_sign_in_creates_the_user_of_that_connection(acme):
    user = federated_user_sign_in(
        connection=acme, profile=profile(given_name="Jane", family_name="Doe", name="Jane Doe", email_verified=True)
    )
    assert user.user_id == "oidc|acme|248289761001"
    assert (user.email, user.first_name, user.last_name) == ("jane@acme.example", "Jane", "Doe")
    assert user.email_verified
    assert user.federated_profile["name"] == "Jane Doe"
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(action="user.create", target_id=str(user.pk))
    assert event.data["user_id"] == "oidc|acme|248289761001" and "acme" in event.reason


def test_later_sign_ins_update_the_profile_and_keep_the_user(acme):
    first = federated_user_sign_in(connection=acme, profile=profile(name="Jane Doe"))
    again = federated_user_sign_in(connection=acme, profile=profile(name="Jane Roe", email="jane.roe@acme.example"))
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.email, again.federated_profile["name"]) == ("jane.roe@acme.example", "Jane Roe")
    update = AuditEvent.objects.get(action="user.update", target_id=str(first.pk))
    assert "email" in update.data["fields"] and "federated_profile" in update.data["fields"]
    federated_user_sign_in(connection=acme, profile=profile(name="Jane Roe", email="jane.roe@acme.example"))
    assert AuditEvent.objects.filter(action="user.update", target_id=str(first.pk)).count() == 1  # nothing changed


def test_an_address_is_verified_only_on_the_providers_explicit_word(acme):
    assert not federated_user_sign_in(connection=acme, profile=profile()).email_verified
    assert not federated_user_sign_in(connection=acme, profile=profile(email_verified="no")).email_verified
    assert federated_user_sign_in(connection=acme, profile=profile(email_verified=True)).email_verified


def test_the_same_email_in_two_connections_is_two_users(acme, globex, django_user_model):
    database_user = django_user_model.objects.create_user(
        username="jane", email="jane@acme.example", password=PASSWORD, email_verified=True
    )
    oidc_user = federated_user_sign_in(connection=acme, profile=profile(email_verified=True))
    saml_user = federated_user_sign_in(connection=globex, profile=profile(subject="jane@acme.example"))
    assert len({database_user.pk, oidc_user.pk, saml_user.pk}) == 3
    assert saml_user.user_id == "samlp|globex|jane@acme.example"
    assert oidc_user.email_verified and database_user.email_verified  # one per connection


def test_a_federated_users_address_never_takes_over_the_password_login(acme, django_user_model, fast_password_hashing):
    """An attack: a customer's provider vouches for an address a database user has not verified yet.
    The password form must still find the database user, and never the provider's user."""
    owner = django_user_model.objects.create_user(username="jane", email="jane@acme.example", password=PASSWORD)
    federated_user_sign_in(connection=acme, profile=profile(email_verified=True))
    assert authenticate(username="jane@acme.example", password=PASSWORD) == owner


def test_a_subject_the_provider_should_never_send_is_refused(acme):
    with pytest.raises(ValueError, match="1 to 255"):
        federated_user_sign_in(connection=acme, profile=profile(subject=""))
    with pytest.raises(ValueError, match="1 to 255"):
        federated_user_sign_in(connection=acme, profile=profile(subject="x" * 256))


def test_the_periodic_cleanup_forgets_expired_sign_ins_and_assertion_ids(acme):
    """Both only ever refuse once expired: keeping them would only grow the tables."""
    now = timezone.now()
    for name, expires_at in (("old", now - timedelta(seconds=1)), ("live", now + timedelta(minutes=5))):
        FederationFlow.objects.create(state=name, connection=acme, binding="b", expires_at=expires_at)
        FederatedAssertion.objects.create(connection=acme, assertion_id=name, expires_at=expires_at)

    expired_tokens_clear()

    assert list(FederationFlow.objects.values_list("state", flat=True)) == ["live"]
    assert list(FederatedAssertion.objects.values_list("assertion_id", flat=True)) == ["live"]
