"""What Portcullis keeps on an oauthlib request from one hook of a flow to the next.

oauthlib hands one ``Request`` through every validator hook of a flow, then to the token generator;
whatever a hook learns that a later step needs (the decision and its inputs, the code's row,
whether the code was used up) travels on it, in one ``OAuthRequestContext`` under one attribute.
Never as loose attributes: oauthlib's ``Request`` answers an attribute it does not have with the
request parameter of that name, so a loose attribute read before it was set would read whatever
the client sent under that name. ``context_of`` reads the instance's own attribute only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oauthcore.constants import DEFAULT_TOKEN_LIFETIME

if TYPE_CHECKING:
    from oauthcore.decision_inputs import DecisionInputs
    from oauthcore.models import Application, Grant, Organization
    from oauthcore.policy import Decision

CONTEXT_ATTRIBUTE = "portcullis_context"


@dataclass
class OAuthRequestContext:
    """The state of one oauthlib request (a token request, ``/authorize``, a device authorization)."""

    # Set by a view before the client is authenticated: loads the client by its id in place of the
    # validator's own lookup (introspection reads the token in the same statement).
    load_client: Callable[[str], Application | None] | None = None
    # The last decision's inputs: ``/authorize`` decides again on them once its user is known.
    inputs: DecisionInputs | None = None
    # The last decision: its scopes and audience go into the token, its refresh-token verdict
    # decides whether the one oauthlib offers is kept.
    decision: Decision | None = None
    # Seconds the access token lives: the API's lifetime once a decision names one.
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    # The authorization code's row, read once per token request (oauthlib asks about it six times).
    code_grant: Grant | None = None
    # The code was deleted in the transaction that saved its tokens: nothing left to invalidate.
    code_used: bool = False
    # The code was gone when its tokens were saved: used twice, so its first tokens are revoked too.
    code_replayed: bool = False
    # The shared policy stamp the client was read under (client credentials' short path): the
    # signing key is kept under it too, so it is not read again.
    shared_stamp: str | None = None
    # ``/authorize``: the organization the user logs in to, handed by the view to the code it saves.
    organization: Organization | None = None
    # How the user authenticated (RFC 8176 amr values): the session's at ``/authorize``, then the
    # code's and the refresh token's, so every token of that login carries them.
    amr: tuple[str, ...] = ()

    @property
    def audience(self) -> str | None:
        """The API the token is for (its ``aud``), or None for a token good for ``/userinfo`` only."""
        return self.decision.audience if self.decision is not None else None


def context_of(request) -> OAuthRequestContext:
    """The context of the oauthlib ``request``, made on first use."""
    context = vars(request).get(CONTEXT_ATTRIBUTE)
    if context is None:
        context = OAuthRequestContext()
        setattr(request, CONTEXT_ATTRIBUTE, context)
    return context
