"""Enterprise connections: signing users in at a customer's own identity provider."""

from oauthcore.constants import ConnectionStrategy


def strategy_for(strategy: str):
    """The protocol module for an enterprise strategy name (``oidc``, ``samlp``)."""
    if strategy == ConnectionStrategy.OIDC:
        from oauthcore.federation.oidc import STRATEGY
    elif strategy == ConnectionStrategy.SAML:
        from oauthcore.federation.saml import STRATEGY
    else:
        raise LookupError(f"Not an enterprise strategy: {strategy}")
    return STRATEGY
