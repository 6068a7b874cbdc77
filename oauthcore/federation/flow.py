"""One sign-in at an identity provider, from the redirect out to the user signed in here.

``start`` keeps a ``FederationFlow`` row and sends the browser to the provider with its ``state``.
The provider sends the browser back to ``/login/callback``:

* OpenID Connect answers with a GET carrying ``state``: ``finish`` checks the flow belongs to this
  browser's session, uses it up (once, whoever comes first), and has the strategy verify the answer.
* SAML posts its answer from the provider's site, so the session cookie (``SameSite=Lax``) is not
  sent: ``verify_posted`` uses the flow up and verifies the answer, keeps the profile on the flow,
  and the browser is sent on to ``/login/callback?resume=…``, a same-site GET where ``resume`` checks
  the session binding before anyone is signed in.

Every refusal is a ``FederationError`` with a message for the person at the browser.
"""

import hashlib
import secrets
from dataclasses import asdict
from datetime import timedelta

from django.utils import timezone

from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.federation import strategy_for
from oauthcore.federation.base import FederatedProfile, FederationError
from oauthcore.models import Connection, FederationFlow

BINDING_SESSION_KEY = "portcullis_federation"
UNKNOWN = "This sign-in has expired or was already used. Start again from the application."
OTHER_BROWSER = "This sign-in was started in another browser. Start again from the application."


def _binding(request, *, create: bool) -> str:
    value = request.session.get(BINDING_SESSION_KEY)
    if value is None:
        if not create:
            return ""
        value = request.session[BINDING_SESSION_KEY] = secrets.token_urlsafe(32)
    return hashlib.sha256(value.encode()).hexdigest()


def start(request, connection: Connection, *, purpose: str = "login", next_url: str = ""):
    """The response that sends the browser to ``connection``'s provider."""
    state = secrets.token_urlsafe(32)
    response, data = strategy_for(connection.strategy).begin(request, connection, state=state)
    now = timezone.now()
    # Expired flows are never read again; the periodic clear_expired_tokens task deletes them.
    FederationFlow.objects.create(
        state=state,
        connection=connection,
        binding=_binding(request, create=True),
        purpose=purpose,
        next_url=next_url,
        data=data,
        expires_at=now + timedelta(seconds=portcullis_settings.FEDERATION_FLOW_SECONDS),
    )
    return response


def _find(state: str) -> FederationFlow | None:
    return FederationFlow.objects.select_related("connection").filter(state=state).first()


def _use(flow: FederationFlow | None) -> FederationFlow:
    """``flow``, used up now if it is still usable: a second answer for it is refused."""
    now = timezone.now()
    if (
        flow is None
        or flow.expires_at <= now
        or not FederationFlow.objects.filter(pk=flow.pk, completed_at__isnull=True).update(completed_at=now)
    ):
        raise FederationError(UNKNOWN, reason="unknown_state")
    return flow


def _verify(request, flow: FederationFlow) -> FederatedProfile:
    try:
        return strategy_for(flow.connection.strategy).complete(request, flow.connection, flow=flow.data)
    except FederationError as error:
        record_event(
            actor=Actor.system("federation"),
            action="connection.signin_failed",
            target=flow.connection,
            reason=error.message,
            data={"reason": error.reason, "detail": error.detail[:2000], "purpose": flow.purpose},
        )
        raise


def finish(request, *, state: str) -> tuple[FederationFlow, FederatedProfile]:
    """The answer to a flow started in this browser (OpenID Connect: the session came back with it)."""
    flow = _find(state)
    if flow is not None and not secrets.compare_digest(flow.binding, _binding(request, create=False)):
        raise FederationError(OTHER_BROWSER, reason="other_browser")
    flow = _use(flow)
    return flow, _verify(request, flow)


def verify_posted(request, *, state: str, connection_name: str) -> str:
    """A posted answer (SAML) verified and kept on its flow; returns the flow's state for ``resume``."""
    flow = _use(_find(state))
    if flow.connection.name != connection_name:
        raise FederationError(UNKNOWN, reason="wrong_connection")
    profile = _verify(request, flow)
    FederationFlow.objects.filter(pk=flow.pk).update(profile=asdict(profile))
    return flow.state


def resume(request, *, state: str) -> tuple[FederationFlow, FederatedProfile]:
    """A verified posted answer, taken up in the browser that started the flow (once)."""
    now = timezone.now()
    flow = FederationFlow.objects.select_related("connection").filter(state=state, profile__isnull=False).first()
    if flow is None or flow.expires_at <= now:
        raise FederationError(UNKNOWN, reason="unknown_state")
    if not secrets.compare_digest(flow.binding, _binding(request, create=False)):
        raise FederationError(OTHER_BROWSER, reason="other_browser")
    taken = FederationFlow.objects.filter(pk=state, resumed_at__isnull=True).update(resumed_at=now)
    if not taken:
        raise FederationError(UNKNOWN, reason="unknown_state")
    return flow, FederatedProfile(**flow.profile)
