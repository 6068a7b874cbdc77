"""An oidc connection's options, as the management API and the admin send them: checked against
the provider's real discovery document (OpenID Connect Discovery 1.0), errors by option name."""

import pytest

from tests.federation.oidc_idp import BASIC_CLIENT, POST_CLIENT, free_port

pytestmark = pytest.mark.django_db


def options_for(provider, client_id=BASIC_CLIENT, **changes):
    return {
        "discovery_url": provider.discovery_url,
        "client_id": client_id,
        "client_secret": "the-client-secret",
        **changes,
    }


def test_a_good_discovery_document_is_kept_as_oidc_metadata_and_the_secret_apart(oidc, identity_provider):
    check = oidc.check_options(options_for(identity_provider, domain_aliases=["acme.test"]), current=None)

    assert check.errors == {}
    metadata = check.options["oidc_metadata"]
    assert metadata["issuer"] == identity_provider.issuer
    assert metadata["authorization_endpoint"] == f"{identity_provider.issuer}/auth"
    assert metadata["token_endpoint"] == f"{identity_provider.issuer}/token"
    assert metadata["jwks_uri"] == f"{identity_provider.issuer}/jwks"
    assert metadata["userinfo_endpoint"] == f"{identity_provider.issuer}/me"
    assert "client_secret_post" in metadata["token_endpoint_auth_methods_supported"]
    assert check.options["issuer"] == identity_provider.issuer
    assert check.options["type"] == "back_channel"
    assert check.options["scope"] == "openid profile email"
    assert check.options["token_endpoint_auth_method"] == "client_secret_basic"
    assert check.options["attribute_map"] == {"mapping_mode": "basic_profile"}
    assert check.options["domain_aliases"] == ["acme.test"]
    # The secret is write-only: sealed apart, never among the options anyone can read back.
    assert "client_secret" not in check.options
    assert "the-client-secret" not in str(check.options)
    assert check.secrets == {"client_secret": "the-client-secret"}
    assert "client_secret" in oidc.secret_options


def test_the_issuer_alone_finds_its_discovery_document(oidc, identity_provider):
    options = {"issuer": identity_provider.issuer, "client_id": POST_CLIENT, "client_secret": "s"}
    options["token_endpoint_auth_method"] = "client_secret_post"

    check = oidc.check_options(options, current=None)

    assert check.errors == {}
    assert check.options["discovery_url"] == identity_provider.discovery_url
    assert check.options["token_endpoint_auth_method"] == "client_secret_post"


def test_a_document_for_another_issuer_is_refused(oidc, identity_provider, fake_provider):
    """Discovery 4.3: the issuer in the document must be the one it was fetched for."""
    fake_provider.discovery_changes["issuer"] = identity_provider.issuer  # impersonating the real one

    check = oidc.check_options(options_for(fake_provider), current=None)

    assert set(check.errors) == {"discovery_url"}
    assert "issuer" in check.errors["discovery_url"] and identity_provider.issuer in check.errors["discovery_url"]
    assert check.options == {} and check.secrets == {}


def test_an_issuer_option_that_the_document_contradicts_is_refused(oidc, identity_provider):
    options = options_for(identity_provider, issuer="https://login.acme.test")

    check = oidc.check_options(options, current=None)

    assert set(check.errors) == {"issuer"}
    assert identity_provider.issuer in check.errors["issuer"]


def test_an_unreachable_discovery_document_is_an_error_on_its_option(oidc):
    url = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"

    check = oidc.check_options({"discovery_url": url, "client_id": "c", "client_secret": "s"}, current=None)

    assert set(check.errors) == {"discovery_url"}
    assert "could not be reached" in check.errors["discovery_url"]


def test_a_slow_discovery_document_times_out(oidc, fake_provider, settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "FEDERATION_TIMEOUT": 0.3}
    fake_provider.delays["/.well-known/openid-configuration"] = 2

    check = oidc.check_options(options_for(fake_provider), current=None)

    assert "did not answer in time" in check.errors["discovery_url"]


def test_a_discovery_url_that_answers_html_is_refused(oidc, fake_provider):
    fake_provider.answers["/.well-known/openid-configuration"] = (200, "text/html", b"<html>Sign in</html>")

    check = oidc.check_options(options_for(fake_provider), current=None)

    assert "not a JSON object" in check.errors["discovery_url"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"code_challenge_methods_supported": ["plain"]}, "PKCE with S256"),
        ({"response_types_supported": ["id_token"]}, "authorization code flow"),
        ({"id_token_signing_alg_values_supported": ["HS256", "none"]}, "signs ID tokens with none of"),
        ({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}, "client_secret_basic or client_secret_post"),
        ({"token_endpoint": "http://token.acme.test/token"}, "token_endpoint: Must be an https URL"),
    ],
)
def test_a_provider_that_cannot_serve_the_back_channel_is_refused(oidc, fake_provider, change, said):
    fake_provider.discovery_changes.update(change)

    check = oidc.check_options(options_for(fake_provider), current=None)

    assert said in " ".join(check.errors.values())


def test_front_channel_is_refused_with_what_to_use_instead(oidc, identity_provider):
    check = oidc.check_options(options_for(identity_provider, type="front_channel"), current=None)

    assert set(check.errors) == {"type"}
    assert "back_channel" in check.errors["type"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scope": "profile email"}, "scope"),
        ({"scope": 'openid "quoted"'}, "scope"),
        ({"domain_aliases": ["acme..test"]}, "domain_aliases"),
        ({"domain_aliases": ["acme"]}, "domain_aliases"),
        ({"domain_aliases": "acme.test"}, "domain_aliases"),
        ({"icon_url": "javascript:alert(1)"}, "icon_url"),
        ({"client_id": ""}, "client_id"),
        ({"client_secret": ""}, "client_secret"),
        ({"attribute_map": {"mapping_mode": "bind_all"}}, "attribute_map"),
        (
            {"attribute_map": {"mapping_mode": "use_map", "attributes": {"email": "${context.tokenset.id_token.mail"}}},
            "attribute_map",
        ),
        (
            {"attribute_map": {"mapping_mode": "use_map", "attributes": {"email": "x ${context.userinfo.mail}"}}},
            "attribute_map",
        ),
        ({"attribute_map": {"mapping_mode": "use_map", "attributes": {"is_staff": True}}}, "attribute_map"),
        ({"upstream_params": {"prompt": "login"}}, "upstream_params"),
    ],
)
def test_bad_options_are_refused_by_name(oidc, identity_provider, changes, field):
    check = oidc.check_options(options_for(identity_provider, **changes), current=None)

    assert field in check.errors, check.errors


def test_a_plain_http_provider_elsewhere_is_refused_before_any_request(oidc):
    url = "http://login.acme.test/.well-known/openid-configuration"

    check = oidc.check_options({"discovery_url": url, "client_id": "c", "client_secret": "s"}, current=None)

    assert "https" in check.errors["discovery_url"]


def test_a_use_map_is_kept_as_given(oidc, identity_provider):
    attribute_map = {
        "mapping_mode": "use_map",
        "attributes": {"email": "${context.tokenset.id_token.mail}", "nickname": "${context.userinfo.department}"},
    }

    check = oidc.check_options(options_for(identity_provider, attribute_map=attribute_map), current=None)

    assert check.errors == {}
    assert check.options["attribute_map"] == attribute_map


def test_an_update_without_the_secret_keeps_the_sealed_one(oidc, identity_provider, make_oidc_connection):
    connection = make_oidc_connection(**options_for(identity_provider, client_secret="first-secret"))
    options = {**connection.options, "scope": "openid email"}

    check = oidc.check_options(options, current=connection)

    assert check.errors == {}
    assert check.secrets == {}  # nothing new to seal: the service keeps the sealed one
    assert check.options["scope"] == "openid email"
    assert connection.secrets == {"client_secret": "first-secret"}


def test_a_secret_sealed_under_a_retired_key_must_be_entered_again(
    oidc, identity_provider, make_oidc_connection, settings
):
    connection = make_oidc_connection(**options_for(identity_provider, client_secret="first-secret"))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "k" * 50, []

    check = oidc.check_options(dict(connection.options), current=connection)

    assert set(check.errors) == {"client_secret"}


def test_a_domain_another_connection_serves_is_refused(identity_provider, make_oidc_connection):
    from django.core.exceptions import ValidationError

    first = make_oidc_connection(**options_for(identity_provider, domain_aliases=["acme.test"]))

    with pytest.raises(ValidationError) as refused:
        make_oidc_connection(name="acme-two", **options_for(identity_provider, domain_aliases=["acme.test"]))

    assert "acme.test" in str(refused.value.message_dict["options.domain_aliases"])
    assert first.domains.get().domain == "acme.test"
