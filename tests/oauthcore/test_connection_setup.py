"""Self-service setup: a tenant admin's one-time link, and the guided page a customer's IT admin
follows with it to connect their own identity provider, against real providers on loopback."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oauthcore.audit import Actor
from oauthcore.federation import saml
from oauthcore.models import AuditEvent, Connection, ConnectionDomain, ConnectionSetupLink
from oauthcore.services.connection_setup import setup_link_create
from tests.oauthcore.federation_fixtures import oidc_fields, saml_fields, saml_sign_in
from tests.oauthcore.test_admin import messages_of, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PAGE = reverse("connection-setup")
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000(/connection-setup/[A-Za-z0-9_\-]+)")


def new_link(strategy="oidc", **fields):
    fields = {"connection_name": "acme", "customer_label": "Acme Corp", **fields}
    return setup_link_create(actor=Actor.system("tests"), strategy=strategy, **fields)


def setup_actions(link) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="oauthcore.connectionsetuplink", target_id=str(link.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def details(fields: dict, **extra) -> dict:
    return {"action": "save", **{f"details-{name}": value for name, value in {**fields, **extra}.items()}}


def follow(client, token: str) -> None:
    opened = client.get(reverse("connection-setup-link", args=[token]))
    assert opened.status_code == 302 and opened["Location"] == PAGE  # the token leaves the address bar


def sign_in_and_activate(client, provider, *, domain_level=False):
    """Test sign-in at the provider as jane, then Activate; the activation's answer."""
    to_provider = client.post(PAGE, {"action": "test"})
    assert to_provider.status_code == 302 and to_provider["Location"].startswith(provider.issuer)
    back = client.get(provider.sign_in(to_provider["Location"]))
    assert back.status_code == 302 and back["Location"] == f"{PAGE}#activate"
    page = client.get(PAGE)
    assert "The test sign-in worked" in page.text and "jane@acme.test" in page.text
    return client.post(PAGE, {"action": "activate", **({"domain_level": "on"} if domain_level else {})})


# -- the link --------------------------------------------------------------------------------------------------


def test_a_setup_link_is_shown_once_and_only_its_digest_is_kept(admin_client, admin_user):
    created = admin_client.post(
        url(ConnectionSetupLink, "add"),
        {"strategy": "oidc", "connection_name": "acme", "customer_label": "Acme Corp"},
        follow=True,
    )

    (message,) = [m for m in messages_of(created) if "copy it now" in m]
    path = LINK_RE.search(message).group(1)
    token = path.rsplit("/", 1)[1]
    link = ConnectionSetupLink.objects.get()
    assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ConnectionSetupLink.objects.values().get())
    assert link.created_by == admin_user
    assert link.expires_at - timezone.now() > timedelta(days=6, hours=23)  # CONNECTION_SETUP_LINK_DAYS
    for page in (url(ConnectionSetupLink), url(ConnectionSetupLink, "change", link.pk), url(AuditEvent)):
        assert token not in admin_client.get(page).text  # shown once, never again
    assert setup_actions(link) == ["connection_setup.create"]
    assert Client().get(path).status_code == 302


def test_a_link_for_a_taken_name_is_refused(admin_client):
    new_link()
    again = admin_client.post(
        url(ConnectionSetupLink, "add"), {"strategy": "samlp", "connection_name": "acme", "customer_label": "Other"}
    )
    database = admin_client.post(
        url(ConnectionSetupLink, "add"),
        {"strategy": "oidc", "connection_name": "Username-Password-Authentication", "customer_label": "X"},
    )
    assert "open setup link" in str(again.context["adminform"].form.errors)
    assert "already a connection" in str(database.context["adminform"].form.errors)
    assert ConnectionSetupLink.objects.count() == 1


def test_a_guessed_token_finds_nothing(client):
    new_link()
    guessed = client.get(reverse("connection-setup-link", args=["A" * 43]))
    without = client.get(PAGE)
    assert guessed.status_code == 404 and "not valid" in guessed.text
    assert without.status_code == 404  # no token in this session
    assert not AuditEvent.objects.filter(action__startswith="connection_setup.").exclude(
        action="connection_setup.create"
    )


def test_an_expired_link_is_gone_and_the_refusal_audited(client):
    issued = new_link()
    follow(client, issued.token)
    ConnectionSetupLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    page = client.get(PAGE)
    again = Client().get(reverse("connection-setup-link", args=[issued.token]))

    assert page.status_code == 410 and "expired" in page.text
    assert again.status_code == 410
    refused = AuditEvent.objects.filter(action="connection_setup.refused", reason="expired")
    assert refused.count() == 2


def test_a_withdrawn_link_stops_working(admin_client, client):
    issued = new_link()
    admin_client.post(url(ConnectionSetupLink), {"action": "withdraw", "_selected_action": [issued.link.pk]})
    assert client.get(reverse("connection-setup-link", args=[issued.token])).status_code == 410
    assert "connection_setup.expire" in setup_actions(issued.link)


# -- the guided setup ------------------------------------------------------------------------------------------


def test_the_setup_page_is_a_decision_page_with_csrf_on_every_form(identity_provider):
    issued = new_link()
    browser = Client(enforce_csrf_checks=True)
    follow(browser, issued.token)

    page = browser.get(PAGE)

    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "DENY"
    assert page.text.count('name="csrfmiddlewaretoken"') == page.text.count("<form")
    assert browser.post(PAGE, details(oidc_fields(identity_provider))).status_code == 403
    assert not Connection.objects.filter(name="acme").exists()


def test_the_setup_page_shows_what_the_provider_needs_in_few_queries(client, django_assert_max_num_queries):
    saml_link = new_link("samlp", connection_name="acme-saml")
    follow(client, saml_link.token)

    with django_assert_max_num_queries(4):  # the session, the link, the tenant's name
        page = client.get(PAGE)

    connection = Connection(name="acme-saml", strategy="samlp")
    assert saml.sp_entity_id(connection) in page.text
    assert saml.acs_url(connection).replace("&", "&amp;") in page.text
    oidc = Client()
    follow(oidc, new_link(connection_name="acme-oidc").token)
    assert 'value="http://127.0.0.1:8000/login/callback"' in oidc.get(PAGE).text  # the redirect URI to copy


def test_the_whole_oidc_setup_over_http(client, identity_provider):
    issued = new_link()
    follow(client, issued.token)
    secret = identity_provider.clients["portcullis-basic"]

    refused = client.post(PAGE, details(oidc_fields(identity_provider, scope="profile"), display_name="Acme"))
    assert refused.status_code == 400 and "openid" in str(refused.context["form"].errors["scope"])
    assert secret not in refused.text

    saved = client.post(PAGE, details(oidc_fields(identity_provider), display_name="Acme"))
    assert saved.status_code == 302
    connection = Connection.objects.get(name="acme")
    assert not connection.is_enabled  # nobody signs in through it yet
    assert connection.secrets["client_secret"] == secret
    assert not ConnectionDomain.objects.exists()  # its domains apply on activation
    assert client.get(reverse("federation-start", args=["acme"])).status_code == 400
    early = client.post(PAGE, {"action": "activate"})
    assert early.status_code == 400 and "Test a sign-in" in early.text
    assert secret not in client.get(PAGE).text

    done = sign_in_and_activate(client, identity_provider, domain_level=True)

    assert done.status_code == 200 and "Your connection is active" in done.text
    connection.refresh_from_db()
    assert connection.is_enabled and connection.display_name == "Acme"
    assert not connection.is_domain_connection  # the tenant did not allow it, whatever was posted
    assert ConnectionDomain.objects.get().domain == "acme.test"
    assert connection.users.count() == 0  # the test signed nobody up
    assert client.get(PAGE).status_code == 404  # the session's key is dropped
    assert Client().get(reverse("connection-setup-link", args=[issued.token])).status_code == 410  # used up
    assert setup_actions(issued.link) == [
        "connection_setup.create",
        "connection_setup.open",
        "connection_setup.details",
        "connection_setup.test",
        "connection_setup.activate",
        "connection_setup.refused",
    ]


def test_domain_level_when_the_tenant_allowed_it(client, identity_provider):
    issued = new_link(may_be_domain_level=True)
    follow(client, issued.token)
    client.post(PAGE, details(oidc_fields(identity_provider)))

    sign_in_and_activate(client, identity_provider, domain_level=True)

    assert Connection.objects.get(name="acme").is_domain_connection
    assert AuditEvent.objects.filter(action="connection.promote").exists()


def test_changed_details_need_a_new_test(client, identity_provider):
    follow(client, new_link().token)
    client.post(PAGE, details(oidc_fields(identity_provider)))
    to_provider = client.post(PAGE, {"action": "test"})
    client.get(identity_provider.sign_in(to_provider["Location"]))

    changed = client.post(PAGE, details(oidc_fields(identity_provider, client_secret="", scope="openid email")))
    assert changed.status_code == 302
    assert Connection.objects.get(name="acme").secrets["client_secret"]  # left blank: kept

    refused = client.post(PAGE, {"action": "activate"})
    assert refused.status_code == 400
    assert not Connection.objects.get(name="acme").is_enabled


def test_a_failed_test_sign_in_allows_no_activation(client, identity_provider):
    follow(client, new_link().token)
    client.post(PAGE, details(oidc_fields(identity_provider)))
    to_provider = client.post(PAGE, {"action": "test"})

    cancelled = client.get(identity_provider.sign_in(to_provider["Location"], cancel=True))

    assert cancelled.status_code == 400 and "did not sign you in" in cancelled.text
    assert client.post(PAGE, {"action": "activate"}).status_code == 400
    failed = AuditEvent.objects.get(action="connection.signin_failed")
    assert failed.data["purpose"] == "setup"


def test_the_whole_saml_setup_over_http(client, saml_idp):
    follow(client, new_link("samlp", connection_name="acme-saml").token)
    assert "Download our SAML metadata" not in client.get(PAGE).text  # made with the connection

    saved = client.post(PAGE, details(saml_fields(saml_idp)))
    assert saved.status_code == 302
    connection = Connection.objects.get(name="acme-saml")
    metadata_link = f"{reverse('saml-metadata')}?connection=acme-saml&amp;download=1"
    assert metadata_link in client.get(PAGE).text
    saml_idp.trust_sp(client.get(metadata_link.replace("&amp;", "&")).content)  # what the IT admin uploads

    tested = saml_sign_in(client, saml_idp, client.post(PAGE, {"action": "test"}))
    assert tested.status_code == 302 and tested["Location"] == f"{PAGE}#activate"
    assert "jane@acme.test" in client.get(PAGE).text

    done = client.post(PAGE, {"action": "activate"})
    connection.refresh_from_db()
    assert done.status_code == 200 and connection.is_enabled
    assert connection.domain_aliases == ["acme-saml.test"]


def test_a_setup_test_in_a_browser_without_the_link_marks_nothing(client, identity_provider):
    issued = new_link()
    follow(client, issued.token)
    client.post(PAGE, details(oidc_fields(identity_provider)))
    to_provider = client.post(PAGE, {"action": "test"})
    session = client.session
    del session["portcullis_connection_setup"]  # the browser's key is gone (the session was cleared)
    session.save()

    answer = client.get(identity_provider.sign_in(to_provider["Location"]))

    assert answer.status_code == 400 and "not valid" in answer.text
    issued.link.refresh_from_db()
    assert issued.link.tested_at is None
