"""Where an account flow (sign-up, verification, password reset) may end: the redirection rule.

The flow remembers the app whose sign-in started it. An app with ``redirection_policy``
``allow_always`` gets its user back: the page continues the /authorize request the user was on,
or goes to the link's ``result_url``, or to the app's callback domain. An app protected against
open redirects (``open_redirect_protection``, the default for strict third-party apps) never does:
the flow ends on a Portcullis page, so no link emailed or opened here leads to a place the app
chose. A flow no app started may go to a management API ticket's ``result_url``.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from django.urls import reverse

from oauthcore.account_emails import callback_domain
from oauthcore.constants import RedirectionPolicy


@dataclass(frozen=True)
class FlowEnd:
    url: str = ""  # where "continue" goes; empty: the flow ends here
    label: str = ""


def authorize_url_for(next_url: str, application) -> str:
    """``next_url`` if it is an /authorize request of ``application`` on this server (a path only)."""
    parts = urlsplit(next_url or "")
    if parts.scheme or parts.netloc or parts.path != reverse("authorize") or application is None:
        return ""
    client_id = (parse_qs(parts.query).get("client_id") or [""])[0]
    return next_url if client_id == application.client_id else ""


def flow_end(*, application, next_url: str = "", result_url: str = "") -> FlowEnd:
    if application is None:
        return FlowEnd(result_url, "Continue") if result_url else FlowEnd()
    if application.redirection_policy != RedirectionPolicy.ALLOW_ALWAYS:
        return FlowEnd()
    back = f"Back to {application.name}"
    if url := authorize_url_for(next_url, application):
        return FlowEnd(url, back)
    if result_url:
        return FlowEnd(result_url, back)
    if domain := callback_domain(application):
        return FlowEnd(domain, back)
    return FlowEnd()


def with_email(url: str, email: str) -> str:
    """A ticket's ``includeEmailInRedirect``: the result URL with ``email`` in its query."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("email", email)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def link_flow_end(link) -> FlowEnd:
    result_url = link.result_url
    if result_url and link.include_email_in_redirect:
        result_url = with_email(result_url, link.email)
    return flow_end(application=link.application, next_url=link.next_url, result_url=result_url)
