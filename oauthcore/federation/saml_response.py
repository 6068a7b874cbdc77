"""Verifying an identity provider's SAML Response, and reading who it says signed in.

pysaml2 checks the XML signature (against the certificates in the connection's options only), the
status, ``InResponseTo`` against the one request we sent, the Destination and the bearer
Recipient against our ACS URL, the Audience and the validity window (with the clock skew). What
pysaml2 lets pass when absent is required here: an AudienceRestriction, a signature, an Issuer
that is the connection's provider. Every pysaml2 exception becomes a ``FederationError``.
"""

import calendar
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from saml2 import BINDING_HTTP_POST, time_util
from saml2.response import StatusError, UnsolicitedResponse
from saml2.saml import SCM_BEARER
from saml2.sigver import SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from oauthcore.federation.base import FederatedProfile, FederationError

# Where a profile field is looked for when the connection's fieldsMap says nothing of it: the
# claim URIs of AD FS and Entra ID, the LDAP names and OIDs of eduPerson/Shibboleth, plain names.
DEFAULT_FIELDS_MAP = {
    "email": [
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "email",
        "mail",
    ],
    "name": [
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "urn:oid:2.16.840.1.113730.3.1.241",
        "name",
        "displayName",
    ],
    "given_name": [
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
        "urn:oid:2.5.4.42",
        "given_name",
        "givenName",
    ],
    "family_name": [
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
        "urn:oid:2.5.4.4",
        "family_name",
        "sn",
        "surname",
    ],
    "nickname": ["nickname", "uid", "urn:oid:0.9.2342.19200300.100.1.1"],
}

SIGN_IN_AGAIN = "start again from the sign-in page"


@dataclass(frozen=True)
class VerifiedResponse:
    profile: FederatedProfile
    assertion_id: str
    expires_at: datetime


def _fail(message: str, reason: str, exc: Exception | None = None) -> FederationError:
    detail = f"{type(exc).__name__}: {exc}" if exc is not None else ""
    return FederationError(message, reason=reason, detail=detail[:2000])


def _parse(client, encoded: str, *, request_id: str, acs: str):
    try:
        response = client.parse_authn_request_response(
            encoded, BINDING_HTTP_POST, outstanding={request_id: acs}, conv_info={"entity_id": client.config.entityid}
        )
    except UnsolicitedResponse as exc:
        raise _fail(
            f"This response does not answer the sign-in started here: {SIGN_IN_AGAIN}.", "unsolicited", exc
        ) from exc
    except SigverError as exc:
        raise _fail("The identity provider's response is not signed with its key.", "bad_signature", exc) from exc
    except (ResponseLifetimeExceed, ToEarly) as exc:
        raise _fail(f"The identity provider's response has expired: {SIGN_IN_AGAIN}.", "expired", exc) from exc
    except StatusError as exc:
        raise _fail("Your identity provider did not sign you in.", "idp_error", exc) from exc
    except Exception as exc:  # malformed XML, wrong recipient, a failed condition: pysaml2 raises many types
        raise _fail("The identity provider's response could not be verified.", "bad_response", exc) from exc
    if response is None or response.assertion is None or response.name_id is None:
        # pysaml2 answers None, or no assertion, for a Destination that is not our ACS
        raise _fail("The identity provider's response could not be verified.", "bad_response")
    return response


def _check(response, *, request_id: str, idp_entity_id: str, audience: str, acs: str) -> None:
    message = response.response
    assertion = response.assertion
    if message.in_response_to != request_id:
        raise _fail(f"This response does not answer the sign-in started here: {SIGN_IN_AGAIN}.", "unsolicited")
    if message.destination is not None and message.destination != acs:
        raise _fail("The identity provider's response is addressed elsewhere.", "bad_response")
    if message.signature is None and assertion.signature is None:
        raise _fail("The identity provider's response is not signed with its key.", "bad_signature")
    issuers = {(i.text or "").strip() for i in (message.issuer, assertion.issuer) if i is not None}
    if issuers != {idp_entity_id}:
        raise _fail("The response comes from another identity provider.", "bad_issuer")
    conditions = assertion.conditions
    audiences = [
        (a.text or "").strip()
        for restriction in (conditions.audience_restriction if conditions else [])
        for a in restriction.audience
    ]
    if audience not in audiences:
        raise _fail("The identity provider's assertion is meant for another service.", "bad_audience")
    _check_bearer(assertion, acs)


def _check_bearer(assertion, acs: str) -> None:
    """Profiles §4.1.4.2: a bearer confirmation whose Recipient is our ACS URL and that says until
    when it holds; pysaml2 lets a Recipient pass unchecked and accepts other methods."""
    confirmations = assertion.subject.subject_confirmation
    if not confirmations or any(
        c.method != SCM_BEARER
        or c.subject_confirmation_data is None
        or c.subject_confirmation_data.recipient != acs
        or not c.subject_confirmation_data.not_on_or_after
        for c in confirmations
    ):
        raise _fail("The identity provider's assertion is meant for another service.", "bad_recipient")


def _expires_at(response) -> datetime:
    """When the assertion stops being acceptable: its earliest NotOnOrAfter."""
    times = []
    conditions = response.assertion.conditions
    if conditions is not None and conditions.not_on_or_after:
        times.append(conditions.not_on_or_after)
    for confirmation in response.assertion.subject.subject_confirmation:
        data = confirmation.subject_confirmation_data
        if data is not None and data.not_on_or_after:
            times.append(data.not_on_or_after)
    stamps = [calendar.timegm(time_util.str_to_time(value)) for value in times]
    return datetime.fromtimestamp(min(stamps) if stamps else time.time() + 600, UTC)


def _attributes(response) -> dict[str, list[str]]:
    """Every attribute of the verified assertion, by Name, values as text."""
    raw: dict[str, list[str]] = {}
    for statement in response.assertion.attribute_statement:
        for attribute in statement.attribute:
            values = [(value.text or "").strip() for value in attribute.attribute_value]
            raw.setdefault(attribute.name, []).extend(v for v in values if v)
            if attribute.friendly_name and attribute.friendly_name != attribute.name:
                raw.setdefault(attribute.friendly_name, []).extend(v for v in values if v)
    return raw


def map_fields(raw: dict[str, list[str]], fields_map: dict) -> dict:
    profile = {}
    for field_name in {*DEFAULT_FIELDS_MAP, *fields_map}:
        names = fields_map.get(field_name) or DEFAULT_FIELDS_MAP.get(field_name, [])
        names = [names] if isinstance(names, str) else names
        value = next((raw[name][0] for name in names if raw.get(name)), None)
        if value is None:
            continue
        profile[field_name] = value.lower() in ("true", "1") if field_name == "email_verified" else value
    return profile


def verify_response(
    client, encoded: str, *, request_id: str, idp_entity_id: str, audience: str, acs: str, fields_map: dict
) -> VerifiedResponse:
    response = _parse(client, encoded, request_id=request_id, acs=acs)
    _check(response, request_id=request_id, idp_entity_id=idp_entity_id, audience=audience, acs=acs)
    subject = (response.name_id.text or "").strip()
    if not subject:
        raise _fail("The identity provider did not say who signed in.", "bad_response")
    if not response.assertion.id:
        raise _fail("The identity provider's response could not be verified.", "bad_response")
    raw = _attributes(response)
    return VerifiedResponse(
        profile=FederatedProfile(subject=subject, attributes=map_fields(raw, fields_map), raw=raw),
        assertion_id=response.assertion.id,
        expires_at=_expires_at(response),
    )
