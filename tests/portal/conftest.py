"""Partners, members and apps for the portal's tests, made through the project's services."""

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from oauthcore.audit import Actor
from oauthcore.constants import AppType
from oauthcore.models import OutboundEmail
from portal.partners.models import Partner, PartnerMembership, Role
from portal.partners.services.apps import partner_app_create
from portal.partners.services.memberships import membership_add
from portal.partners.services.partners import partner_create

PASSWORD = "a long portal passphrase 7"
LINK_RE = re.compile(r"https?://\S+")


@dataclass
class Org:
    partner: Partner
    owner: object
    admin: object
    developer: object
    app: object  # a regular web app
    m2m: object  # a machine-to-machine app
    m2m_secret: str

    def membership(self, user) -> PartnerMembership:
        return PartnerMembership.objects.get(partner=self.partner, user=user)


def make_user(username: str, email: str | None = None):
    return get_user_model().objects.create_user(
        username=username, email=email or f"{username}@example.com", password=PASSWORD
    )


def create_org(prefix: str) -> Org:
    owner = make_user(f"{prefix}-owner")
    partner = partner_create(actor=Actor.system("tests"), name=f"{prefix.title()} Partners", owner=owner)
    admin, developer = make_user(f"{prefix}-admin"), make_user(f"{prefix}-dev")
    membership_add(actor=Actor.system("tests"), partner=partner, user=admin, role=Role.ADMIN)
    membership_add(actor=Actor.system("tests"), partner=partner, user=developer, role=Role.DEVELOPER)
    actor = Actor.user(owner)
    app = partner_app_create(
        actor=actor,
        partner=partner,
        name=f"{prefix.title()} Web",
        app_type=AppType.REGULAR_WEB,
        callbacks=[f"https://{prefix}.example.com/callback"],
    ).application
    issued = partner_app_create(
        actor=actor, partner=partner, name=f"{prefix.title()} Sync", app_type=AppType.NON_INTERACTIVE
    )
    return Org(partner, owner, admin, developer, app, issued.application, issued.client_secret)


@pytest.fixture
def make_org(fast_password_hashing):
    return create_org


@pytest.fixture
def acme(make_org):
    return make_org("acme")


@pytest.fixture
def globex(make_org):
    return make_org("globex")


def emails(kind: str | None = None) -> list[OutboundEmail]:
    """Queued emails (in tests without a committed transaction they stay queued, with their body)."""
    queued = OutboundEmail.objects.order_by("pk")
    return list(queued.filter(kind=kind) if kind else queued)


def link_in(email: OutboundEmail) -> str:
    return LINK_RE.search(email.body).group(0)


def path_of(url: str) -> str:
    """The path of an emailed link (emails point at the issuer; tests talk to their own server)."""
    from urllib.parse import urlsplit

    return urlsplit(url).path
