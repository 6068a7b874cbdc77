"""Fixtures for the enterprise strategies: a real SAML identity provider on a loopback port, and
``samlp`` connections set up against it the way an admin would (options checked, SP metadata
loaded into the provider)."""

import pytest

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import saml
from oauthcore.services.connections import connection_create
from tests.federation.saml_idp import SamlIdp


@pytest.fixture
def saml_idp():
    idp = SamlIdp()
    yield idp
    idp.close()


@pytest.fixture
def make_saml_connection(actor, saml_idp):
    """A ``samlp`` connection to ``saml_idp`` from its metadata URL; ``options`` override or add."""
    counter = iter(range(1, 1000))

    def make(name=None, *, require_signed_requests=False, **options):
        connection = connection_create(
            actor=actor,
            name=name or f"acme-saml-{next(counter)}",
            strategy=ConnectionStrategy.SAML,
            options={"metadataUrl": saml_idp.entity_id, **options},
        )
        saml_idp.trust_sp(saml.sp_metadata(connection), require_signed_requests=require_signed_requests)
        return connection

    return make
