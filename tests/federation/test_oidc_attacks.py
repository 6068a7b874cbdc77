"""Forged and misdirected ID tokens, each refused (OpenID Connect Core 1.0, 3.1.3.7).

The provider here is the stand-in on loopback (``fake_idp``): it answers the code exchange with
the ID token each test crafted, the way a compromised or confused provider, or an attacker who
got a token minted for someone else, would. A first test shows a well-formed one is accepted, so
every refusal below is the check it names, not a broken setup.
"""

import time

import pytest

from oauthcore.federation.base import FederationError
from tests.federation.fake_idp import hs256, unsigned

pytestmark = pytest.mark.django_db

CLIENT_ID, CLIENT_SECRET = "portcullis-at-acme", "the-client-secret-portcullis-shares-with-acme"


@pytest.fixture
def connection(fake_provider, make_oidc_connection):
    return make_oidc_connection(
        discovery_url=fake_provider.discovery_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


@pytest.fixture
def sign_in(oidc, connection, rf, fake_provider, callback):
    """Start a sign-in, have the provider answer the code exchange with ``id_token`` (made from the
    flow's nonce), and complete it: the profile, or the FederationError raised."""

    def run(make_id_token, *, answer=None):
        _, flow = oidc.begin(rf.get("/"), connection, state="s")
        fake_provider.answer_token(make_id_token(flow["nonce"]))
        query = answer or {"code": "the-code", "state": "s"}
        try:
            return oidc.complete(callback(query), connection, flow=flow)
        except FederationError as error:
            return error

    return run


def accepted(result):
    assert not isinstance(result, FederationError), (result.reason, result.detail)
    return result


def refused(result, reason: str) -> bool:
    assert isinstance(result, FederationError), f"accepted: {result}"
    assert result.reason == reason, (result.reason, result.detail)
    assert result.message == "The identity provider's answer could not be verified, so you were not signed in."
    return True


def test_a_well_formed_id_token_is_accepted_and_the_exchange_carries_pkce_and_the_secret(sign_in, fake_provider):
    profile = accepted(
        sign_in(lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce)))
    )

    assert profile.subject == "u-42"
    _method, _path, headers, form = next(r for r in fake_provider.requests if r[1] == "/token")
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["redirect_uri"] == "http://127.0.0.1:8000/login/callback"
    assert len(form["code_verifier"]) >= 43  # RFC 7636 4.1
    assert headers["Authorization"].startswith("Basic ")  # RFC 6749 2.3.1, client_secret_basic
    assert "client_secret" not in form


def test_an_id_token_for_another_client_is_refused(sign_in, fake_provider):
    """3.1.3.7 step 3: a token minted for another app of the same provider is not for us."""
    result = sign_in(
        lambda nonce: fake_provider.id_token(fake_provider.claims(client_id="someone-elses-app", nonce=nonce))
    )
    assert refused(result, "wrong_audience")


def test_an_id_token_for_several_audiences_needs_us_as_its_azp(sign_in, fake_provider):
    """3.1.3.7 steps 4 and 5: with several audiences, azp names the party it was issued to."""

    def claims(nonce, **changes):
        return fake_provider.claims(client_id=CLIENT_ID, nonce=nonce, aud=[CLIENT_ID, "other-app"], **changes)

    assert refused(sign_in(lambda nonce: fake_provider.id_token(claims(nonce))), "wrong_audience")
    assert refused(sign_in(lambda nonce: fake_provider.id_token(claims(nonce, azp="other-app"))), "wrong_audience")
    assert accepted(sign_in(lambda nonce: fake_provider.id_token(claims(nonce, azp=CLIENT_ID)))).subject == "u-42"


def test_an_id_token_with_another_sign_ins_nonce_is_refused(sign_in, fake_provider):
    """3.1.3.7 step 11: a token obtained for another flow (a replayed or injected one) is refused."""
    other = "nonce-of-another-sign-in"
    result = sign_in(lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=other)))
    assert refused(result, "nonce_mismatch")
    unicode = sign_in(
        lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce="nonce-\u00e9t\u00e9"))
    )
    assert refused(unicode, "nonce_mismatch")
    no_nonce = sign_in(lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=None)))
    assert refused(no_nonce, "nonce_mismatch")


def test_an_expired_id_token_is_refused(sign_in, fake_provider, settings):
    """3.1.3.7 step 9, with FEDERATION_CLOCK_SKEW of leeway and not a second more."""
    skew = settings.PORTCULLIS.get("FEDERATION_CLOCK_SKEW", 120)

    def expired_by(seconds):
        now = int(time.time())
        return lambda nonce: fake_provider.id_token(
            fake_provider.claims(client_id=CLIENT_ID, nonce=nonce, iat=now - 5, exp=now - skew - seconds)
        )

    assert refused(sign_in(expired_by(5)), "token_expired")
    assert accepted(sign_in(expired_by(-30))).subject == "u-42"  # expired 90 s ago: within the skew


def test_an_id_token_issued_in_the_future_or_before_the_sign_in_is_refused(sign_in, fake_provider, settings):
    """3.1.3.7 step 10: iat within the clock skew of now, and not before this sign-in began."""
    now = int(time.time())
    future = sign_in(
        lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce, iat=now + 600))
    )
    assert refused(future, "token_not_yet_valid")
    old = sign_in(
        lambda nonce: fake_provider.id_token(
            fake_provider.claims(client_id=CLIENT_ID, nonce=nonce, iat=now - 3600, exp=now + 3600)
        )
    )
    assert refused(old, "token_too_old")


def test_an_unsigned_id_token_is_refused(sign_in, fake_provider):
    """RFC 8725 3.1: alg none is never accepted from the token endpoint either."""
    result = sign_in(lambda nonce: unsigned(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce)))
    assert refused(result, "bad_token")
    assert "alg none" in result.detail


def test_an_hs256_id_token_keyed_with_the_client_secret_is_refused(sign_in, fake_provider):
    """RFC 8725 3.1 and 3.2: the client secret is known to the client too, so a token keyed with it
    proves nothing about the provider; nor may an RSA key be used as an HMAC secret."""
    result = sign_in(lambda nonce: hs256(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce), CLIENT_SECRET))
    assert refused(result, "bad_token")
    assert "alg HS256" in result.detail


def test_an_id_token_signed_with_a_key_the_provider_does_not_publish_is_refused(sign_in, fake_provider):
    """3.1.3.7 step 6: the signature must verify against the provider's JWKS."""
    claims = fake_provider.claims(client_id=CLIENT_ID, nonce="n")

    same_kid = sign_in(lambda nonce: fake_provider.id_token({**claims, "nonce": nonce}, key=fake_provider.rogue_key))
    assert refused(same_kid, "bad_token")
    assert "bad signature" in same_kid.detail

    fetched = sum(1 for request in fake_provider.requests if request[1] == "/jwks")
    unknown_kid = sign_in(
        lambda nonce: fake_provider.id_token(
            {**claims, "nonce": nonce}, key=fake_provider.rogue_key, header={"kid": "attacker"}
        )
    )
    assert refused(unknown_kid, "bad_token")
    assert "does not publish" in unknown_kid.detail
    # An unknown key makes us look at the provider's keys again, once, in case it rotated them.
    assert sum(1 for request in fake_provider.requests if request[1] == "/jwks") == fetched + 1


def test_a_key_the_provider_rotated_in_is_fetched_once_and_trusted(sign_in, fake_provider):
    from joserfc.jwk import RSAKey

    first = accepted(
        sign_in(lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce)))
    )
    assert first.subject == "u-42"
    fetched = sum(1 for request in fake_provider.requests if request[1] == "/jwks")
    rotated = RSAKey.generate_key(2048, parameters={"kid": "fake-2", "alg": "RS256", "use": "sig"})
    fake_provider.published_keys = [fake_provider.signing_key, rotated]

    second = sign_in(
        lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce), key=rotated)
    )
    third = sign_in(
        lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce), key=rotated)
    )

    assert second.subject == third.subject == "u-42"
    assert sum(1 for request in fake_provider.requests if request[1] == "/jwks") == fetched + 1


def test_an_id_token_from_another_issuer_is_refused(sign_in, fake_provider):
    """3.1.3.7 step 2: iss is exactly the issuer of the connection's discovery document."""
    result = sign_in(
        lambda nonce: fake_provider.id_token(
            fake_provider.claims(client_id=CLIENT_ID, nonce=nonce, iss="https://login.evil.example")
        )
    )
    assert refused(result, "wrong_issuer")


def test_a_userinfo_response_about_someone_else_is_refused(sign_in, fake_provider):
    """Core 5.3.2: the userinfo sub must be the ID token's, or its claims are another person's."""
    fake_provider.userinfo = {"sub": "admin", "email": "ceo@acme.test", "name": "The CEO"}

    def without_profile(nonce):  # no email nor name in the ID token: basic_profile asks userinfo
        return fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce, email=None, name=None))

    assert refused(sign_in(without_profile), "userinfo_mismatch")

    fake_provider.userinfo = {"sub": "u-42", "email": "u42@corp.acme.test"}
    assert accepted(sign_in(without_profile)).attributes == {"email": "u42@corp.acme.test"}


def test_an_answer_naming_another_issuer_is_refused_before_the_code_is_sent(sign_in, fake_provider):
    """RFC 9207 2.4 (mix-up): the answer says it comes from another provider; its code stays unused."""
    result = sign_in(
        lambda nonce: fake_provider.id_token(fake_provider.claims(client_id=CLIENT_ID, nonce=nonce)),
        answer={"code": "the-code", "state": "s", "iss": "https://login.evil.example"},
    )
    assert isinstance(result, FederationError) and result.reason == "wrong_issuer"
    assert not any(request[1] == "/token" for request in fake_provider.requests)
