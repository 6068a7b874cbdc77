"""The account emails' templates: the tenant's wording, its variables, what a template cannot do,
and the admin's preview and refusals."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from oauthcore import account_emails
from oauthcore.constants import RedirectionPolicy
from oauthcore.models import AuditEvent, EmailTemplate, OutboundEmail, TenantSettings
from oauthcore.services.account_links import password_reset_request, verification_email_send
from oauthcore.services.applications import application_update
from oauthcore.services.email_templates import email_template_save
from oauthcore.services.tenant import tenant_settings_update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

CALLBACK_TEMPLATE = "Go back: [{{ application.callback_domain }}] {{ application.name }} {{ url }}"


@pytest.fixture
def erin(db):
    return get_user_model().objects.create_user(
        username="erin", email="erin@example.com", password="erin's passphrase 1", first_name="Erin", last_name="Lee"
    )


def test_the_tenant_wording_and_every_variable_reach_the_email(actor, erin, make_app, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "ISSUER": "https://id.example.com"}
    tenant_settings_update(actor=actor, friendly_name="Acme", support_email="help@acme.example")
    app = make_app(name="Shop", callbacks=["https://shop.example.com/cb"])
    email_template_save(
        actor=actor,
        template="verify_email",
        subject="{{ tenant.friendly_name }}: confirm {{ user.email }}",
        body=(
            "{{ user.name }}|{{ user.given_name }}|{{ user.family_name }}|{{ user.nickname }}|{{ user.user_id }}|"
            "{{ user.email_verified }}|{{ tenant.support_email }}|{{ application.name }}|{{ application.client_id }}|"
            "{{ url }}"
        ),
        enabled=True,
    )

    issued = verification_email_send(actor=actor, user=erin, application=app)

    email = OutboundEmail.objects.get()
    assert email.subject == "Acme: confirm erin@example.com"
    assert email.body == (
        f"Erin Lee|Erin|Lee|erin|{erin.user_id}|False|help@acme.example|Shop|{app.client_id}|{issued.url}"
    )
    assert issued.url.startswith("https://id.example.com/login/verify/")
    assert AuditEvent.objects.filter(action="email_template.create").exists()


def test_callback_domain_is_given_only_to_an_app_that_allows_redirection(actor, erin, make_app):
    email_template_save(actor=actor, template="reset_email", subject="Reset", body=CALLBACK_TEMPLATE, enabled=True)
    allowing = make_app(name="Own App", callbacks=["https://own.example.com/callback"])
    application_update(actor=actor, application=allowing, redirection_policy=RedirectionPolicy.ALLOW_ALWAYS)
    allowing.refresh_from_db()
    protected = make_app(name="Third", is_first_party=False, callbacks=["https://third.example.com/callback"])
    assert protected.redirection_policy == RedirectionPolicy.OPEN_REDIRECT_PROTECTION

    password_reset_request(email=erin.email, application=allowing)
    password_reset_request(email=erin.email, application=protected)

    first, second = OutboundEmail.objects.order_by("created_at", "pk")
    assert first.body.startswith("Go back: [https://own.example.com] Own App ")
    assert second.body.startswith("Go back: [] Third ")  # absent, rendered empty: never an error
    assert "third.example.com" not in second.body


def test_a_disabled_template_sends_nothing_and_issues_no_link(actor, erin):
    email_template_save(actor=actor, template="reset_email", subject="x", body="y", enabled=False)

    assert password_reset_request(email=erin.email) == 0
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "{% debug %}",
        "{% load static %}{% static 'x' %}",
        "{% include 'base.html' %}",
        "{% csrf_token %}",
        "{% url 'login' %}",
        "{% if %}",
        "{{ user.email|nosuchfilter }}",
        '{{ user.email|ljust:"999999999" }}',
    ],
)
def test_a_template_may_not_reach_beyond_its_variables(actor, body):
    assert "body" in account_emails.compile_errors(subject="ok", body=body)
    with pytest.raises(Exception, match="does not compile"):
        email_template_save(actor=actor, template="welcome_email", subject="ok", body=body, enabled=True)
    assert not EmailTemplate.objects.exists()


def test_a_body_is_text_and_a_missing_variable_renders_empty(erin):
    context = account_emails.variables(user=erin)
    rendered = account_emails.render(
        "<{{ user.email }}> & {{ application.callback_domain }}{{ nothing.here }}.", context
    )
    assert rendered == "<erin@example.com> & ."


def test_without_a_row_the_defaults_are_used(actor, erin):
    TenantSettings.load()
    verification_email_send(actor=actor, user=erin)
    email = OutboundEmail.objects.get()
    assert email.subject == "Verify your email for Portcullis"
    assert "/login/verify/" in email.body and "Hello Erin Lee" in email.body


# -- the admin -----------------------------------------------------------------------------------------------


def test_the_admin_adds_a_template_from_the_default_and_previews_it(admin_client):
    add = admin_client.get(reverse("admin:oauthcore_emailtemplate_add") + "?template=reset_email")
    assert add.status_code == 200 and "Reset your {{ tenant.friendly_name }} password" in add.content.decode()

    saved = admin_client.post(
        reverse("admin:oauthcore_emailtemplate_add"),
        {
            "template": "reset_email",
            "enabled": "on",
            "subject": "Reset for {{ user.email }}",
            "body": "Hi {{ user.given_name }}, open {{ url }} ({{ application.callback_domain }})",
            "result_url": "",
            "url_lifetime_in_seconds": "900",
            "_continue": "1",
        },
    )
    row = EmailTemplate.objects.get()
    assert saved.status_code == 302 and row.url_lifetime_in_seconds == 900
    change = admin_client.get(reverse("admin:oauthcore_emailtemplate_change", args=[row.pk])).content.decode()
    assert "Reset for jane@example.com" in change
    assert "Hi Jane, open https://login.example.com/login/verify/EXAMPLE-TOKEN (https://app.example.com)" in change
    assert AuditEvent.objects.filter(action="email_template.create").exists()


def test_the_admin_refuses_a_template_that_does_not_compile_on_its_field(admin_client):
    response = admin_client.post(
        reverse("admin:oauthcore_emailtemplate_add"),
        {
            "template": "welcome_email",
            "enabled": "on",
            "subject": "{% if %}",
            "body": "{% for x %}",
            "url_lifetime_in_seconds": "999999999",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not compile" in errors["subject"][0] and "does not compile" in errors["body"][0]
    assert "Must be from 1 to 2592000 seconds." in errors["url_lifetime_in_seconds"]
    assert not EmailTemplate.objects.exists()


def test_the_admin_lists_sent_links_but_no_token(admin_client, actor, erin):
    issued = verification_email_send(actor=actor, user=erin)

    listing = admin_client.get(reverse("admin:oauthcore_accountlink_changelist")).content.decode()
    change = admin_client.get(reverse("admin:oauthcore_accountlink_change", args=[issued.link.pk]))

    assert "Email verification" in listing and "erin" in listing
    assert change.status_code == 200 and "erin@example.com" in change.content.decode()
    assert issued.token not in listing + change.content.decode()
    assert admin_client.get(reverse("admin:oauthcore_accountlink_add")).status_code == 403


def test_a_template_may_name_its_sender_and_the_email_is_sent_from_it(actor, erin, smtp):
    email_template_save(
        actor=actor,
        template="verify_email",
        subject="Verify",
        body="{{ url }}",
        enabled=True,
        from_address="Acme <accounts@acme.example>",
    )
    verification_email_send(actor=actor, user=erin)
    queued = OutboundEmail.objects.get()
    assert queued.from_email == "Acme <accounts@acme.example>"

    from oauthcore.outbox import email_deliver

    assert email_deliver(email_id=queued.pk)
    assert smtp.wait_for_messages(1)[0]["From"] == "Acme <accounts@acme.example>"


@pytest.mark.parametrize("sender", ["not an address", "a@example.com, b@example.com", "A <a@example.com>\nBcc: x@y.z"])
def test_a_sender_that_is_not_one_address_is_refused(actor, sender):
    with pytest.raises(Exception, match="Give one address"):
        email_template_save(actor=actor, template="verify_email", subject="s", body="b", from_address=sender)
