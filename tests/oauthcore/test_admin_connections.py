"""The admin's enterprise connections, used as a tenant admin would, against real providers on
loopback: the add form asks the strategy first, the strategy's verdict lands on the fields, secrets
never come back, and *Test connection* signs in once at the provider."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from saml2.md import entity_descriptor_from_string

from oauthcore.constants import ConnectionStrategy
from oauthcore.federation import saml
from oauthcore.models import AuditEvent, Connection, ConnectionDomain, User
from tests.federation.oidc_idp import BASIC_CLIENT
from tests.oauthcore.federation_fixtures import oidc_fields, saml_fields, saml_sign_in
from tests.oauthcore.test_admin import form_errors, post_data, url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

ADD = reverse("admin:oauthcore_connection_add")


def add_oidc(client, provider, **overrides):
    data = {"name": "acme", "display_name": "Acme", "is_enabled": "on", "show_as_button": "on"}
    data = {**data, **oidc_fields(provider, **overrides)}
    return client.post(f"{ADD}?strategy=oidc", {name: value for name, value in data.items() if value != ""})


def add_saml(client, idp, **overrides):
    data = {"name": "acme-saml", "display_name": "Acme SAML", "is_enabled": "on", "show_as_button": "on"}
    return client.post(f"{ADD}?strategy=samlp", {**data, **saml_fields(idp, **overrides)})


def sign_in_test_url(connection):
    return reverse("admin:oauthcore_connection_test", args=[quote(connection.pk)])


def change_url(connection):
    return url(Connection, "change", connection.pk)


def pages_of(client, connection) -> str:
    """Every admin page a secret could leak to: the change page, the list, the history, the audit log."""
    events = AuditEvent.objects.filter(target_id=connection.pk)
    pages = [change_url(connection), url(Connection), url(Connection, "history", connection.pk)]
    pages += [url(AuditEvent), *(url(AuditEvent, "change", event.pk) for event in events)]
    return "".join(client.get(page).text for page in pages)


# -- adding ----------------------------------------------------------------------------------------------------


def test_adding_asks_for_the_strategy_first(admin_client):
    chooser = admin_client.get(ADD)
    assert chooser.status_code == 200
    for strategy in ("auth0", "oidc", "samlp"):
        assert f'href="?strategy={strategy}"' in chooser.text

    oidc = admin_client.get(f"{ADD}?strategy=oidc").context["adminform"].form
    assert {"discovery_url", "client_id", "client_secret", "scope", "domain_aliases", "attribute_map"} <= set(
        oidc.fields
    )
    assert oidc.fields["client_secret"].widget.input_type == "password"
    samlp = admin_client.get(f"{ADD}?strategy=samlp").context["adminform"].form
    assert {"metadataUrl", "metadataXml", "signInEndpoint", "signingCert", "idpEntityId", "fieldsMap"} <= set(
        samlp.fields
    )
    assert "discovery_url" not in samlp.fields


def test_adding_an_oidc_connection_reads_the_discovery_document_and_seals_the_secret(admin_client, identity_provider):
    secret = identity_provider.clients[BASIC_CLIENT]

    response = add_oidc(admin_client, identity_provider)

    assert response.status_code == 302, form_errors(response)
    connection = Connection.objects.get(name="acme")
    assert connection.strategy == ConnectionStrategy.OIDC and connection.is_enabled
    assert connection.options["issuer"] == identity_provider.issuer  # the provider was asked (OIDC Discovery 1.0, 4)
    assert connection.secrets == {"client_secret": secret}
    assert secret not in str(connection.options)
    assert list(connection.domains.values_list("domain", flat=True)) == ["acme.test"]
    assert AuditEvent.objects.filter(action="connection.create", target_id=connection.pk).exists()

    seen = pages_of(admin_client, connection)
    assert secret not in seen
    assert "••••" + secret[-4:] in seen  # the change page says which secret is set, masked
    assert f"{identity_provider.issuer}" not in admin_client.get(url(Connection)).text  # no options in the list


def test_oidc_refusals_land_on_their_fields_and_the_secret_is_not_sent_back(admin_client, identity_provider):
    secret = identity_provider.clients[BASIC_CLIENT]

    unreachable = add_oidc(
        admin_client, identity_provider, discovery_url="http://127.0.0.1:9/.well-known/openid-configuration"
    )
    no_openid = add_oidc(admin_client, identity_provider, scope="profile email")
    bad_domain = add_oidc(admin_client, identity_provider, domain_aliases="not a domain!")
    bad_map = add_oidc(admin_client, identity_provider, attribute_map='{"mapping_mode": "guess"}')
    not_json = add_oidc(admin_client, identity_provider, attribute_map="{nope")

    assert "Could not read the discovery document" in str(form_errors(unreachable)["discovery_url"])
    assert "openid" in str(form_errors(no_openid)["scope"])
    assert "domain_aliases" in form_errors(bad_domain)
    assert "mapping_mode" in str(form_errors(bad_map)["attribute_map"])
    assert "attribute_map" in form_errors(not_json)
    for response in (unreachable, no_openid, bad_domain, bad_map, not_json):
        assert response.status_code == 200
        assert secret not in response.text  # a password input is never rendered back
    assert not Connection.objects.filter(name="acme").exists()


def test_a_domain_of_another_connection_is_a_field_error(admin_client, identity_provider):
    assert add_oidc(admin_client, identity_provider).status_code == 302

    second = add_oidc(admin_client, identity_provider, name="acme-two")

    assert "acme.test" in str(form_errors(second)["domain_aliases"])
    assert ConnectionDomain.objects.get(domain="acme.test").connection.name == "acme"


def test_a_change_without_a_secret_keeps_the_sealed_one_and_a_new_one_replaces_it(admin_client, identity_provider):
    add_oidc(admin_client, identity_provider)
    connection = Connection.objects.get(name="acme")
    page = admin_client.get(change_url(connection))
    form = page.context["adminform"].form
    assert form.fields["client_secret"].help_text == "Leave blank to keep the current secret."
    assert not form.fields["client_secret"].required

    kept = admin_client.post(change_url(connection), post_data(page, scope="openid email", client_secret=""))
    connection.refresh_from_db()
    assert kept.status_code == 302, form_errors(kept)
    assert connection.options["scope"] == "openid email"
    assert connection.secrets["client_secret"] == identity_provider.clients[BASIC_CLIENT]

    page = admin_client.get(change_url(connection))
    replaced = admin_client.post(change_url(connection), post_data(page, client_secret="a-brand-new-secret-value"))
    connection.refresh_from_db()
    assert replaced.status_code == 302, form_errors(replaced)
    assert connection.secrets["client_secret"] == "a-brand-new-secret-value"
    update = AuditEvent.objects.filter(action="connection.update", target_id=connection.pk).latest("id")
    assert update.data["secrets"] == ["client_secret"]
    assert "a-brand-new-secret-value" not in pages_of(admin_client, connection)


def test_an_oidc_change_page_gives_the_redirect_uri(admin_client, identity_provider):
    add_oidc(admin_client, identity_provider)
    page = admin_client.get(change_url(Connection.objects.get(name="acme"))).text
    assert "http://127.0.0.1:8000/login/callback" in page  # {issuer}/login/callback, what the provider must allow


# -- Test connection -------------------------------------------------------------------------------------------


def test_test_connection_signs_in_at_the_provider_and_shows_the_mapped_profile(admin_client, identity_provider):
    add_oidc(admin_client, identity_provider)
    connection = Connection.objects.get(name="acme")
    users = User.objects.count()
    page = admin_client.get(change_url(connection))
    test_url = sign_in_test_url(connection)
    assert f'action="{test_url}"' in page.text

    to_provider = admin_client.post(test_url)

    assert to_provider.status_code == 302
    assert to_provider["Location"].startswith(identity_provider.issuer)
    back = identity_provider.sign_in(to_provider["Location"])
    result = admin_client.get(back)
    assert result.status_code == 200
    assert "The connection works" in result.text
    assert "jane@acme.test" in result.text and "Jane Doe" in result.text
    assert "oidc|acme|jane" in result.text
    assert f'href="{change_url(connection)}"' in result.text  # back to the change page
    assert User.objects.count() == users  # nobody created nor signed in


def test_test_connection_is_a_post_with_csrf_for_staff_who_may_change(admin_user, identity_provider, client):
    from oauthcore.audit import Actor
    from oauthcore.services.connections import connection_create

    options = {k: v for k, v in oidc_fields(identity_provider).items() if v}
    options["domain_aliases"] = [options["domain_aliases"]]
    connection = connection_create(actor=Actor.system("tests"), name="acme", strategy="oidc", options=options)
    test_url = sign_in_test_url(connection)

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post(test_url).status_code == 403  # no CSRF token: refused before anything starts
    assert strict.get(test_url).status_code == 405

    viewer = User.objects.create_user(username="viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_connection"))
    client.force_login(viewer)
    assert client.post(test_url).status_code == 403
    assert client.get(change_url(connection)).status_code == 200
    assert "Test connection" not in client.get(change_url(connection)).text


# -- SAML ------------------------------------------------------------------------------------------------------


def test_adding_a_saml_connection_from_pasted_metadata(admin_client, saml_idp):
    response = add_saml(admin_client, saml_idp)

    assert response.status_code == 302, form_errors(response)
    connection = Connection.objects.get(name="acme-saml")
    assert connection.options["idpEntityId"] == saml_idp.entity_id
    assert connection.options["signInEndpoint"] == f"{saml_idp.base}/sso/redirect"
    assert connection.options["fieldsMap"] == {"email": "email", "name": "name"}
    key = connection.secrets["signing_key"]
    assert "PRIVATE KEY" in key
    seen = pages_of(admin_client, connection)
    assert key.splitlines()[1] not in seen  # our signing key is never shown
    change = admin_client.get(change_url(connection)).text
    assert saml.sp_entity_id(connection) in change
    assert saml.acs_url(connection).replace("&", "&amp;") in change


def test_saml_refusals_land_on_their_fields(admin_client, saml_idp):
    bad_xml = add_saml(admin_client, saml_idp, metadataXml="<not-metadata/>")
    by_hand = add_saml(
        admin_client,
        saml_idp,
        metadataXml="",
        signInEndpoint=f"{saml_idp.base}/sso/redirect",
        signingCert="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----",
        idpEntityId=saml_idp.entity_id,
    )
    bad_map = add_saml(admin_client, saml_idp, fieldsMap='{"shoe_size": "size"}')

    assert "metadataXml" in form_errors(bad_xml)
    assert "cannot be read" in str(form_errors(by_hand)["signingCert"])
    assert "shoe_size" in str(form_errors(bad_map)["fieldsMap"])
    assert not Connection.objects.filter(name="acme-saml").exists()


def test_the_sp_metadata_download_is_metadata_pysaml2_reads(admin_client, saml_idp):
    add_saml(admin_client, saml_idp)
    connection = Connection.objects.get(name="acme-saml")
    change = admin_client.get(change_url(connection)).text
    link = f"{reverse('saml-metadata')}?connection=acme-saml&amp;download=1"
    assert link in change

    download = admin_client.get(link.replace("&amp;", "&"))

    assert download["Content-Disposition"] == 'attachment; filename="acme-saml-sp-metadata.xml"'
    descriptor = entity_descriptor_from_string(download.content.decode())  # SAML 2.0 Metadata, 2.3.2
    assert descriptor.entity_id == saml.sp_entity_id(connection)
    acs = descriptor.spsso_descriptor[0].assertion_consumer_service[0]
    assert acs.location == saml.acs_url(connection)
    assert acs.binding == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def test_test_connection_through_a_saml_provider(admin_client, saml_idp):
    add_saml(admin_client, saml_idp)
    connection = Connection.objects.get(name="acme-saml")
    saml_idp.trust_sp(saml.sp_metadata(connection))  # the customer loaded our metadata

    to_provider = admin_client.post(sign_in_test_url(connection))
    result = saml_sign_in(admin_client, saml_idp, to_provider)

    assert result.status_code == 200, result.text[:500]
    assert "The connection works" in result.text
    assert "samlp|acme-saml|jane-saml" in result.text and "jane@acme.test" in result.text


def test_a_disabled_connection_can_still_be_tested_by_the_admin(admin_client, identity_provider):
    add_oidc(admin_client, identity_provider, is_enabled="")
    connection = Connection.objects.get(name="acme")
    assert not connection.is_enabled
    assert admin_client.get(reverse("federation-start", args=["acme"])).status_code == 400  # nobody signs in

    to_provider = admin_client.post(sign_in_test_url(connection))
    result = admin_client.get(identity_provider.sign_in(to_provider["Location"]))

    assert "The connection works" in result.text


def test_changing_a_saml_connection_keeps_our_key_so_the_providers_copy_of_our_metadata_stays_valid(
    admin_client, saml_idp
):
    add_saml(admin_client, saml_idp)
    connection = Connection.objects.get(name="acme-saml")
    metadata, key = saml.sp_metadata(connection), connection.secrets["signing_key"]
    page = admin_client.get(change_url(connection))
    assert "signInEndpoint" not in page.context["adminform"].form.initial  # it came from the metadata

    changed = admin_client.post(change_url(connection), post_data(page, fieldsMap='{"email": "mail"}'))

    assert changed.status_code == 302, form_errors(changed)
    connection.refresh_from_db()
    assert connection.options["fieldsMap"] == {"email": "mail"}
    assert connection.secrets["signing_key"] == key and saml.sp_metadata(connection) == metadata
    refused = admin_client.post(
        change_url(connection), post_data(admin_client.get(change_url(connection)), metadataXml="<broken")
    )
    assert "metadataXml" in form_errors(refused)
    assert key.splitlines()[1] not in pages_of(admin_client, connection)
