"""Sign-up at /login into the database connection: the neutral answer, the connection's switch and
password policy, the rate limit, and the emails it queues."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from oauthcore.constants import DATABASE_CONNECTION_NAME, RedirectionPolicy
from oauthcore.models import AccountLink, AuditEvent, Connection, OutboundEmail
from oauthcore.services.applications import application_update
from oauthcore.services.connections import connection_update
from oauthcore.services.email_templates import email_template_save
from oauthcore.services.users import user_update
from tests.oauthcore.flows import authorize_path

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a fine sign-up passphrase 9"


def database_connection() -> Connection:
    return Connection.objects.get(name=DATABASE_CONNECTION_NAME)


def set_options(actor, **options):
    connection = database_connection()
    connection_update(actor=actor, connection=connection, options=connection.options | options)


def sign_up(client, email, password=PASSWORD, next_url=""):
    return client.post("/login/signup", {"email": email, "password": password, "next": next_url})


def page(response) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "CSRF", response.content.decode())


def test_the_login_page_offers_sign_up_and_a_forgotten_password_carrying_next(client, make_app):
    app = make_app()
    next_url = authorize_path(app, "https://orders.example.com/")

    login = client.get("/login", {"next": next_url}).content.decode()

    assert 'id="sign-up"' in login and 'id="forgot-password"' in login
    assert "/login/signup?next=/authorize%3F" in login and "/login/password-reset?next=/authorize%3F" in login


def test_a_sign_up_makes_an_unverified_account_and_queues_its_verification(client):
    response = sign_up(client, "Newbie@Example.com")

    assert response.status_code == 200 and "Check your email" in response.content.decode()
    user = get_user_model().objects.get(email__iexact="newbie@example.com")
    assert not user.email_verified and user.check_password(PASSWORD)
    assert "_auth_user_id" not in client.session  # signed in only after logging in
    email = OutboundEmail.objects.get()
    assert email.kind == "account.verify_email" and email.to == [user.email]
    assert AccountLink.objects.get().user == user
    assert AuditEvent.objects.filter(action="user.create", actor_label="end user sign-up").exists()


def test_a_sign_up_with_a_verified_address_answers_the_same_and_sends_nothing(client, actor):
    owner = get_user_model().objects.create_user(username="owner", email="taken@example.com", password=PASSWORD)
    user_update(actor=actor, user=owner, email_verified=True)

    taken = sign_up(client, "taken@example.com")
    fresh = sign_up(client, "fresh@example.com")

    assert taken.status_code == fresh.status_code == 200
    assert page(taken) == page(fresh)
    assert get_user_model().objects.filter(email__iexact="taken@example.com").count() == 1
    assert [email.to for email in OutboundEmail.objects.all()] == [["fresh@example.com"]]
    assert AuditEvent.objects.filter(action="user.sign_up_refused").count() == 1


def test_an_unverified_claim_does_not_keep_the_owner_from_signing_up(client):
    sign_up(client, "claimed@example.com")
    sign_up(client, "claimed@example.com", password="another fine passphrase 8")

    claims = get_user_model().objects.filter(email="claimed@example.com").order_by("pk")
    assert claims.count() == 2 and all(claim.username.startswith("claimed-") for claim in claims)
    assert OutboundEmail.objects.count() == 2


def test_disable_signup_closes_the_page_and_hides_the_link(client, actor):
    set_options(actor, disable_signup=True)

    assert 'id="sign-up"' not in client.get("/login").content.decode()
    assert client.get("/login/signup").status_code == 404
    assert sign_up(client, "nope@example.com").status_code == 404
    assert not get_user_model().objects.filter(email="nope@example.com").exists()


def test_no_sign_up_for_an_app_the_connection_is_not_open_to(client, make_app):
    third_party = make_app(name="Third", is_first_party=False)  # the database connection is not domain level
    next_url = authorize_path(third_party, "https://orders.example.com/")

    assert 'id="sign-up"' not in client.get("/login", {"next": next_url}).content.decode()
    assert client.get("/login/signup", {"next": next_url}).status_code == 404


@pytest.mark.parametrize(
    ("options", "password", "message"),
    [
        ({"passwordPolicy": "fair"}, "all lower case 12345", "lower case letters, upper case letters and digits"),
        ({"passwordPolicy": "good"}, "lowercaseonlyhere", "at least 3 of"),
        ({"passwordPolicy": "excellent"}, "Abc1!aaa-Long-enough", "more than twice in a row"),
        ({"passwordPolicy": "excellent"}, "Ab1!xyz", "at least 10 characters"),
        ({"passwordPolicy": "low", "password_complexity_options": {"min_length": 20}}, "Short but 1!", "at least 20"),
    ],
)
def test_the_connections_password_policy_is_enforced(client, actor, options, password, message):
    set_options(actor, **options)

    response = sign_up(client, "policy@example.com", password=password)

    assert response.status_code == 400 and message in response.content.decode()
    assert not get_user_model().objects.filter(email="policy@example.com").exists()


def test_a_lighter_policy_than_the_projects_validators_is_the_one_that_counts(client, actor):
    """``low`` asks for 6 characters: the project's default validators (8) are not checked on top."""
    set_options(actor, passwordPolicy="low")

    response = sign_up(client, "light@example.com", password="qz7#kw")

    assert response.status_code == 200, page(response)
    assert get_user_model().objects.get(email="light@example.com").check_password("qz7#kw")


def test_a_policy_is_checked_before_the_address_so_refusals_reveal_nothing(client, actor):
    owner = get_user_model().objects.create_user(username="owner", email="taken@example.com", password=PASSWORD)
    user_update(actor=actor, user=owner, email_verified=True)
    set_options(actor, passwordPolicy="good")

    taken = sign_up(client, "taken@example.com", password="weakweakweak")
    fresh = sign_up(client, "fresh@example.com", password="weakweakweak")

    assert taken.status_code == fresh.status_code == 400
    assert page(taken).replace("taken@", "X@") == page(fresh).replace("fresh@", "X@")


def test_unknown_or_malformed_database_options_are_refused(actor):
    connection = database_connection()
    for options, field in [
        ({"passwordPolicy": "strong"}, "options.passwordPolicy"),
        ({"disable_signup": "yes"}, "options.disable_signup"),
        ({"password_complexity_options": {"min_length": 0}}, "options.password_complexity_options"),
        ({"requires_username": True}, "options"),
    ]:
        with pytest.raises(ValidationError) as refused:
            connection_update(actor=actor, connection=connection, options=options)
        assert field in refused.value.message_dict


def test_sign_up_is_rate_limited_per_address(client, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"account_email": "1/h"}}
    sign_up(client, "hasty@example.com")

    refused = sign_up(client, "hasty@example.com")

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert get_user_model().objects.filter(email="hasty@example.com").count() == 1


def test_the_welcome_email_goes_out_when_its_template_is_enabled(client, actor):
    email_template_save(
        actor=actor, template="welcome_email", subject="Welcome {{ user.email }}", body="Hi", enabled=True
    )

    sign_up(client, "welcome@example.com")

    assert sorted(OutboundEmail.objects.values_list("kind", flat=True)) == [
        "account.verify_email",
        "account.welcome_email",
    ]


def test_the_app_behind_the_sign_up_decides_where_verification_ends(client, actor, make_app):
    app = make_app(name="Own Shop", callbacks=["https://own-shop.example.com/callback"])
    application_update(actor=actor, application=app, redirection_policy=RedirectionPolicy.ALLOW_ALWAYS)
    next_url = authorize_path(app, "https://orders.example.com/")

    sign_up(client, "shopper@example.com", next_url=next_url)
    link = re.search(r"/login/verify/[\w-]+", OutboundEmail.objects.get().body).group(0)
    done = client.post(link).content.decode()

    assert "Back to Own Shop" in done and 'href="/authorize?' in done


@pytest.mark.parametrize("first_party", [True, False])
def test_the_login_page_reads_four_rows_at_most(client, make_app, django_assert_max_num_queries, first_party):
    """The app behind the page, the tenant's name, the enterprise buttons, and the connection sign-up is into."""
    next_url = authorize_path(make_app(is_first_party=first_party), "https://orders.example.com/")
    with django_assert_max_num_queries(4):
        assert client.get("/login", {"next": next_url}).status_code == 200
