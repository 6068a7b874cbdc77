"""Secrets never reach the logs: a filter on every handler redacts them from each record.

Client secrets, passwords, authorization codes, PKCE verifiers, tokens (as parameters, JSON
members, Authorization headers, bare JWTs or in the path of an emailed link) are replaced by
``[REDACTED]`` in the message and in any traceback, whatever logger wrote them (Django,
django-oauth-toolkit, oauthlib, ours). Error emails to ``ADMINS`` are redacted whole: their
report repeats the request (its URL, query and headers) beside the record.
"""

import logging
import re

from django.utils.log import AdminEmailHandler

REDACTED = "[REDACTED]"
SECRET_NAMES = (
    "client_secret",
    "password",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "device_code",
    "user_code",
    "registration_access_token",
    "assertion",
    "secret",
    "token",
    "code",
)
# name=value (forms, query strings), "name": "value" (JSON), 'name': 'value' (reprs), "name" = 'value' (SQL).
_NAMES = "|".join(SECRET_NAMES)
_NAMED = re.compile(
    rf"""(?ix)
    (?<![a-z_])(["']?(?:{_NAMES})["']?\s*(?:=|:)\s*["']?)   # the name and its separator
    ([^&\s"',;}})\]]+)                                    # the value
    """
)
# The same, percent-encoded inside another parameter: /login?next=/activate%3Fuser_code%3DBCDF-GHJK.
_ENCODED = re.compile(rf"(?i)((?:%3F|%26)(?:{_NAMES})%3D)((?:(?!%26)[^&\s\"'])+)")
_AUTHORIZATION = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}")
# Free text: "Validating refresh token DK3b… for client …" (oauthlib), "invalid code abc…".
_MENTIONED = re.compile(r"(?i)\b(token|code|secret|password|verifier)(\s+)([A-Za-z0-9._~+/=-]{16,})")
# Links mailed to people carry their token in the path: /portal/verify-email/<token>,
# /portal/invitations/<token> (access logs and "Not Found: ..." lines would print them).
_LINK_TOKEN = re.compile(r"(/(?:verify-email|invitations)/)[A-Za-z0-9._~:-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def redact(text: str) -> str:
    text = _JWT.sub(REDACTED, text)
    text = _LINK_TOKEN.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _MENTIONED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _ENCODED.sub(lambda m: m.group(1) + REDACTED, text)
    return _NAMED.sub(lambda m: m.group(1) + REDACTED, text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RedactedAdminEmailHandler(AdminEmailHandler):
    """Django's error email, redacted: the filter only reaches the record, not the report of the
    request and traceback built beside it."""

    def send_mail(self, subject, message, *args, html_message=None, **kwargs):
        html_message = redact(html_message) if html_message else html_message
        super().send_mail(redact(subject), redact(message), *args, html_message=html_message, **kwargs)
