"""Attacks on the SAML Response, each performed against ``complete`` with the real identity
provider's key (or an intruder's): every one is refused with a FederationError and a reason, and
each would pass an implementation that skipped the check named (SAML 2.0 Profiles §4.1.4.3,
Core §5 signatures, Security and Privacy Considerations §6.4)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from saml2.time_util import instant

from oauthcore.federation.base import FederationError
from oauthcore.models import FederatedAssertion
from tests.federation import saml_flow

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(make_saml_connection, saml_idp):
    """A connection, the flow data of one sign-in begun, and the IdP's parsed AuthnRequest."""
    connection = make_saml_connection()
    saml_idp.login("alice-0001", mail="alice@acme.example")
    response, data = saml_flow.begin(connection)
    return connection, data, saml_flow.send_to_idp(saml_idp, response)


def refused(connection, data, saml_response) -> FederationError:
    with pytest.raises(FederationError) as caught:
        saml_flow.complete(connection, data, saml_response)
    assert caught.value.message  # said for the person at the browser
    return caught.value


def test_the_honest_response_is_accepted(signed_in, saml_idp):
    """The baseline every attack below departs from."""
    connection, data, request = signed_in

    assert saml_flow.complete(connection, data, saml_idp.response_for(request)).subject == "alice-0001"


def test_unsigned_assertion_in_unsigned_response(signed_in, saml_idp):
    """Profiles §4.1.3.5: an assertion must be signed (or the Response carrying it)."""
    connection, data, request = signed_in

    unsigned = saml_idp.response_for(request, sign_assertion=False, sign_response=False)

    assert refused(connection, data, unsigned).reason == "bad_signature"


def test_assertion_signed_by_another_key(signed_in, saml_idp):
    """The signature must verify with the IdP's certificate in our options, not with the one the
    message carries in its KeyInfo (Core §5.4)."""
    connection, data, request = signed_in

    forged = saml_idp.response_for(request, intruder=True)

    assert refused(connection, data, forged).reason == "bad_signature"


def test_response_signed_by_another_key_around_an_unsigned_assertion(signed_in, saml_idp):
    connection, data, request = signed_in

    forged = saml_idp.response_for(request, sign_assertion=False, sign_response=True, intruder=True)

    assert refused(connection, data, forged).reason == "bad_signature"


def _split_assertion(xml: str):
    match = re.search(r"<(?P<p>\w+):Assertion\b.*?</(?P=p):Assertion>", xml, re.DOTALL)
    return match.start(), match.end(), match.group(0)


def _evil_copy(assertion: str) -> str:
    """The signed assertion with another ID and another subject, its Signature left in place: the
    Signature still points at the original's ID."""
    evil = re.sub(r'\bID="[^"]+"', 'ID="_evil"', assertion, count=1)
    return re.sub(r"(<(\w+:)?NameID\b[^>]*>)[^<]*(</)", r"\1mallory-admin\3", evil, count=1)


@pytest.mark.parametrize("variant", ["original-in-extensions", "evil-sibling-first"])
def test_xml_signature_wrapping(signed_in, saml_idp, variant):
    """XML Signature Wrapping (Security and Privacy Considerations §6.4.3): the signed original is
    moved where the signature still finds it by ID, an evil assertion stands where it is read."""
    connection, data, request = signed_in
    xml = saml_flow.decoded(saml_idp.response_for(request))
    start, end, original = _split_assertion(xml)
    evil = _evil_copy(original)
    if variant == "original-in-extensions":
        samlp = re.search(r"<(\w+):Response\b", xml).group(1)
        issuer_end = re.search(r"</\w+:Issuer>", xml).end()
        extensions = f"<{samlp}:Extensions>{original}</{samlp}:Extensions>"
        wrapped = xml[:issuer_end] + extensions + xml[issuer_end:start] + evil + xml[end:]
    else:
        wrapped = xml[:start] + evil + original + xml[end:]
    assert "mallory-admin" in wrapped and original in wrapped

    error = refused(connection, data, saml_flow.encoded(wrapped))

    assert error.reason in {"bad_signature", "bad_response"}
    assert not FederatedAssertion.objects.filter(connection=connection).exists()


def test_replayed_assertion(signed_in, saml_idp):
    """One use per assertion ID (Profiles §4.1.4.5), kept until it expires."""
    connection, data, request = signed_in
    answer = saml_idp.response_for(request)
    saml_flow.complete(connection, data, answer)

    assert refused(connection, data, answer).reason == "replayed"
    (kept,) = FederatedAssertion.objects.filter(connection=connection)
    assert kept.expires_at > datetime.now(UTC)


def test_answer_to_another_request(make_saml_connection, saml_idp):
    """InResponseTo must be this flow's request ID (Profiles §4.1.4.3): an answer to a sign-in
    begun in another browser cannot complete this one."""
    connection = make_saml_connection()
    saml_idp.login("alice-0001")
    first, _ = saml_flow.begin(connection, state="theirs")
    other_request = saml_flow.send_to_idp(saml_idp, first)
    _, mine = saml_flow.begin(connection, state="mine")

    assert refused(connection, mine, saml_idp.response_for(other_request)).reason == "unsolicited"


def test_unsolicited_response(signed_in, saml_idp):
    """IdP-initiated responses (no InResponseTo) are not accepted: nothing here asked for them."""
    connection, data, request = signed_in

    unsolicited = saml_idp.response_for(request, in_response_to=None)

    assert refused(connection, data, unsolicited).reason == "unsolicited"
    assert refused(connection, {}, saml_idp.response_for(request)).reason == "unsolicited"


def test_assertion_for_another_audience(signed_in, saml_idp):
    """Core §2.5.1.4: the AudienceRestriction must name our entity id."""
    connection, data, request = signed_in

    def elsewhere(message):
        message.assertion[0].conditions.audience_restriction[0].audience[0].text = "urn:other:service"

    assert refused(connection, data, saml_idp.response_for(request, mutate=elsewhere)).reason == "bad_response"


def test_assertion_without_an_audience(signed_in, saml_idp):
    """Profiles §4.1.4.2: an assertion with no AudienceRestriction could be replayed at any SP."""
    connection, data, request = signed_in

    def anyone(message):
        message.assertion[0].conditions.audience_restriction = []

    assert refused(connection, data, saml_idp.response_for(request, mutate=anyone)).reason == "bad_audience"


def test_assertion_for_another_recipient(signed_in, saml_idp):
    """Profiles §4.1.4.3: the bearer SubjectConfirmationData Recipient is our ACS URL."""
    connection, data, request = signed_in

    def elsewhere(message):
        data_ = message.assertion[0].subject.subject_confirmation[0].subject_confirmation_data
        data_.recipient = "https://evil.example/acs"

    assert refused(connection, data, saml_idp.response_for(request, mutate=elsewhere)).reason in {
        "bad_recipient",
        "bad_response",
    }


@pytest.mark.parametrize("change", ["sender-vouches", "no-not-on-or-after"])
def test_subject_confirmation_must_be_a_bounded_bearer(signed_in, saml_idp, change):
    """Profiles §4.1.4.2: the Web SSO profile's confirmation is bearer, with NotOnOrAfter; pysaml2
    accepts sender-vouches without any check, and a bearer confirmation without an end."""
    connection, data, request = signed_in

    def weaken(message):
        confirmation = message.assertion[0].subject.subject_confirmation[0]
        if change == "sender-vouches":
            confirmation.method = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"
        else:
            confirmation.subject_confirmation_data.not_on_or_after = None

    assert refused(connection, data, saml_idp.response_for(request, mutate=weaken)).reason == "bad_recipient"


def test_response_for_another_destination(signed_in, saml_idp):
    """Bindings §3.5.5.2: a signed Response's Destination is the ACS URL it was posted to."""
    connection, data, request = signed_in

    def elsewhere(message):
        message.destination = "https://evil.example/acs"

    forwarded = saml_idp.response_for(request, sign_response=True, mutate=elsewhere)

    assert refused(connection, data, forwarded).reason == "bad_response"


def _expire(seconds_ago: int):
    def mutate(message):
        now = datetime.now(UTC)
        past = instant(time_stamp=int((now - timedelta(seconds=seconds_ago)).timestamp()))
        assertion = message.assertion[0]
        assertion.conditions.not_before = instant(time_stamp=int((now - timedelta(seconds=600)).timestamp()))
        assertion.conditions.not_on_or_after = past
        for confirmation in assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.not_on_or_after = past

    return mutate


def test_expired_assertion(signed_in, saml_idp, settings):
    """Core §2.5.1.2: NotOnOrAfter in the past, beyond FEDERATION_CLOCK_SKEW, is refused."""
    connection, data, request = signed_in
    skew = settings.PORTCULLIS.get("FEDERATION_CLOCK_SKEW", 120)

    expired = saml_idp.response_for(request, mutate=_expire(skew + 60))

    assert refused(connection, data, expired).reason in {"expired", "bad_response"}


def test_assertion_just_past_its_time_is_within_the_clock_skew(signed_in, saml_idp):
    connection, data, request = signed_in

    late = saml_idp.response_for(request, mutate=_expire(30))

    assert saml_flow.complete(connection, data, late).subject == "alice-0001"


def test_response_from_another_issuer(signed_in, saml_idp):
    """The Issuer must be the connection's identity provider (Profiles §4.1.4.2)."""
    connection, data, request = signed_in

    def impostor(message):
        message.issuer.text = "https://impostor.example/idp"
        message.assertion[0].issuer.text = "https://impostor.example/idp"

    assert refused(connection, data, saml_idp.response_for(request, mutate=impostor)).reason == "bad_signature"


@pytest.mark.parametrize("garbage", ["", "bm90IFhNTA==", "PD94bWw/Pjxmb28+", "%%%"])
def test_garbage_is_a_federation_error(signed_in, garbage):
    connection, data, _ = signed_in

    error = refused(connection, data, garbage)

    assert error.reason == "bad_response"
