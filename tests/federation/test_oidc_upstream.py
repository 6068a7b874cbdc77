"""A provider that is down, slow, or answers errors or garbage: each a FederationError whose message
the person at the browser can act on, within FEDERATION_TIMEOUT, never an exception of ours."""

import time

import pytest

from oauthcore.federation.base import FederationError
from tests.federation.oidc_idp import free_port

pytestmark = pytest.mark.django_db

CLIENT_ID = "portcullis-at-acme"


@pytest.fixture
def connection(fake_provider, make_oidc_connection):
    return make_oidc_connection(discovery_url=fake_provider.discovery_url, client_id=CLIENT_ID, client_secret="s")


@pytest.fixture
def complete(oidc, connection, rf, fake_provider, callback):
    """Begin a sign-in (the provider answering a good token unless told otherwise) and complete it:
    the FederationError raised, and how long it took."""

    def run(query=None):
        _, flow = oidc.begin(rf.get("/"), connection, state="s")
        fake_provider.token_response = fake_provider.token_response or {
            "access_token": "at",
            "token_type": "Bearer",
            "id_token": fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=flow["nonce"])),
        }
        started = time.monotonic()
        with pytest.raises(FederationError) as raised:
            oidc.complete(callback(query or {"code": "c", "state": "s"}), connection, flow=flow)
        return raised.value, time.monotonic() - started

    return run


@pytest.fixture
def short_timeout(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "FEDERATION_TIMEOUT": 0.5}


def test_a_token_endpoint_that_is_down(complete, connection):
    metadata = connection.options["oidc_metadata"]
    connection.options = {
        **connection.options,
        "oidc_metadata": {**metadata, "token_endpoint": f"http://127.0.0.1:{free_port()}/token"},
    }

    error, _ = complete()

    assert error.reason == "upstream_unreachable"
    assert error.message == "The identity provider could not be reached (token endpoint). Try again later."


def test_a_slow_token_endpoint_times_out(complete, fake_provider, short_timeout):
    fake_provider.delays["/token"] = 3

    error, took = complete()

    assert error.reason == "upstream_timeout"
    assert "did not answer in time (token endpoint, 0.5 s)" in error.message
    assert took < 2


def test_a_token_response_dripped_a_byte_at_a_time_times_out_all_the_same(complete, fake_provider, short_timeout):
    """Each byte comes within the timeout, the whole never does: the timeout bounds the whole answer."""
    fake_provider.drips["/token"] = 0.05

    error, took = complete()

    assert error.reason == "upstream_timeout" and "token endpoint" in error.message
    assert took < 2


def test_slow_signing_keys_time_out(complete, fake_provider, short_timeout):
    fake_provider.delays["/jwks"] = 3

    error, took = complete()

    assert error.reason == "upstream_timeout" and "signing keys" in error.message
    assert took < 2


def test_signing_keys_dripped_a_byte_at_a_time_time_out_all_the_same(complete, fake_provider, short_timeout):
    """Each byte comes within the timeout, the whole never does: the timeout bounds the whole GET."""
    fake_provider.drips["/jwks"] = 0.1

    error, took = complete()

    assert error.reason == "upstream_timeout" and "signing keys" in error.message
    assert took < 2


def test_signing_keys_that_are_down_are_said_so(complete, connection):
    metadata = connection.options["oidc_metadata"]
    connection.options = {
        **connection.options,
        "oidc_metadata": {**metadata, "jwks_uri": f"http://127.0.0.1:{free_port()}/jwks"},
    }

    error, _ = complete()

    assert error.reason == "upstream_unreachable" and "signing keys" in error.message


def test_a_token_endpoint_error_is_quoted(complete, fake_provider):
    """RFC 6749 5.2: the provider's error code, told to the user."""
    fake_provider.answers["/token"] = (400, "application/json", b'{"error": "invalid_client"}')

    error, _ = complete()

    assert error.reason == "upstream_error"
    assert error.message == "The identity provider refused the sign-in (invalid_client)."


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((502, "text/html", b"<html>Bad gateway</html>"), "answered HTTP 502 at its token endpoint"),
        ((200, "text/html", b"<html>Welcome</html>"), "did not answer with a token"),
        ((200, "application/json", b'{"access_token": "at", "token_type": "Bearer"}'), "sent no ID token"),
        ((200, "application/json", b'{"access_token": "at", "id_token": "not.a.jwt"}'), "could not be verified"),
    ],
)
def test_a_token_endpoint_answering_garbage(complete, fake_provider, answer, said):
    fake_provider.answers["/token"] = answer

    error, _ = complete()

    assert said in error.message
    assert error.reason in ("upstream_error", "bad_token")


def test_signing_keys_that_are_garbage(complete, fake_provider):
    fake_provider.answers["/jwks"] = (200, "text/html", b"<html>maintenance</html>")

    error, _ = complete()

    assert error.reason == "upstream_error"
    assert "not a JSON object (signing keys)" in error.message


def test_a_provider_answering_access_denied_is_quoted_safely(complete, fake_provider):
    """Core 3.1.2.6: the error answer quoted, bounded and without control characters (our page escapes it)."""
    error, _ = complete(
        {
            "error": "access_denied",
            "error_description": "Your account is not allowed\r\n<script>alert(1)</script>" + "x" * 500,
            "state": "s",
        }
    )

    assert error.reason == "access_denied"
    assert error.message.startswith(
        "The identity provider did not sign you in (access_denied: Your account is not allowed"
    )
    assert "\n" not in error.message and len(error.message) < 300
    assert not any(request[1] == "/token" for request in fake_provider.requests)


def test_a_callback_without_code_nor_error(complete):
    error, _ = complete({"state": "s"})

    assert error.reason == "bad_response"
    assert "without a sign-in" in error.message


def test_a_connection_never_set_up_says_so_instead_of_failing(oidc, connection, rf):
    connection.options = {key: value for key, value in connection.options.items() if key != "oidc_metadata"}

    with pytest.raises(FederationError) as raised:
        oidc.begin(rf.get("/"), connection, state="s")

    assert raised.value.reason == "misconfigured"
    assert "not set up yet" in raised.value.message


def test_a_client_secret_sealed_under_a_retired_key_says_so(complete, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "k" * 50, []

    error, _ = complete()

    assert error.reason == "misconfigured"
    assert "must enter its client secret again" in error.message
