"""The SAML 2.0 strategy (``samlp``): Portcullis as a service provider of a customer's identity
provider, Web Browser SSO profile, SP-initiated only.

pysaml2 builds the AuthnRequest and verifies the Response (XML signatures through xmlsec1). Its
configuration is built in memory for each request from the connection's stored options, so no
sign-in depends on a file or on the provider's metadata URL. On top of what pysaml2 checks, every
answer must be signed (the Response or its Assertion), answer this very request, be addressed to
this connection and carry an Assertion ID never accepted before.
"""

import base64
import contextlib
import os
import tempfile
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig

from oauthcore.conf import portcullis_settings
from oauthcore.federation import saml_metadata, saml_options
from oauthcore.federation.base import FederatedProfile, FederationError, OptionsCheck
from oauthcore.federation.saml_response import verify_response
from oauthcore.models import Connection, FederatedAssertion
from portal.platform.csp import STRICT_CSP

MISCONFIGURED = "This sign-in option is misconfigured: ask your administrator to check it."


def sp_entity_id(connection: Connection) -> str:
    """Our entity id for this connection, the Audience its assertions must name."""
    return f"urn:portcullis:{urlsplit(portcullis_settings.issuer).hostname}:{connection.name}"


def acs_url(connection: Connection) -> str:
    """Where the identity provider posts its Response (the Assertion Consumer Service)."""
    return f"{portcullis_settings.issuer}/login/callback?connection={connection.name}"


def sp_metadata(connection: Connection) -> bytes:
    """Our SP metadata for the customer's IT admin to load into their identity provider."""
    return saml_metadata.sp_document(
        entity_id=sp_entity_id(connection),
        acs_url=acs_url(connection),
        cert_pem=connection.options.get("sp_signing_cert", ""),
        authn_requests_signed=bool(connection.options.get("signSAMLRequest")),
    )


@contextlib.contextmanager
def saml_client(connection: Connection, *, signing: bool = False):
    """A pysaml2 client for ``connection``; with ``signing``, our key is written for xmlsec1 to a
    private temporary folder that is removed on exit."""
    options = connection.options
    config = {
        "entityid": sp_entity_id(connection),
        "metadata": {
            "inline": [
                saml_metadata.idp_document(
                    entity_id=options["idpEntityId"],
                    sso_url=options["signInEndpoint"],
                    binding=options["protocolBinding"],
                    certs_pem=options["signingCert"],
                )
            ]
        },
        "accepted_time_diff": portcullis_settings.FEDERATION_CLOCK_SKEW,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url(connection), BINDING_HTTP_POST)]},
                "allow_unsolicited": False,
                "authn_requests_signed": signing,
                "want_response_signed": False,
                "want_assertions_signed": False,
                "want_assertions_or_response_signed": True,
                "signing_algorithm": saml_options.SIGNATURE_ALGORITHMS[options.get("signatureAlgorithm", "rsa-sha256")],
                "digest_algorithm": saml_options.DIGEST_ALGORITHMS[options.get("digestAlgorithm", "sha256")],
            }
        },
    }
    with tempfile.TemporaryDirectory(prefix="portcullis-saml-") as folder:
        if signing:
            config["key_file"] = os.path.join(folder, "sp.key")
            config["cert_file"] = os.path.join(folder, "sp.crt")
            with open(os.open(config["key_file"], os.O_WRONLY | os.O_CREAT, 0o600), "w") as key_file:
                key_file.write(connection.secrets["signing_key"])
            with open(config["cert_file"], "w") as cert_file:
                cert_file.write(options["sp_signing_cert"])
        sp_config = SPConfig()
        sp_config.load(config)
        yield Saml2Client(sp_config)


def _post_page(request: HttpRequest, connection: Connection, *, action: str, saml_request: str, state: str):
    """The page that posts the AuthnRequest on (HTTP-POST binding): no inline script, a button
    when script is off, and a policy that lets its form go to the provider only."""
    target = urlsplit(action)
    html = render_to_string(
        "oauthcore/saml_post.html",
        {"action": action, "saml_request": saml_request, "relay_state": state, "provider": connection.label},
        request=request,
    )
    response = HttpResponse(html)
    response["Content-Security-Policy"] = f"{STRICT_CSP}; form-action {target.scheme}://{target.netloc}"
    response["Cache-Control"] = "no-store"
    return response


class SamlStrategy:
    secret_options = saml_options.SECRET_OPTIONS

    def check_options(self, options: dict, *, current: Connection | None) -> OptionsCheck:
        label = f"Portcullis SAML {current.name}" if current is not None else "Portcullis SAML"
        return saml_options.check(options, current=current, label=label)

    def begin(self, request: HttpRequest, connection: Connection, *, state: str) -> tuple[HttpResponse, dict]:
        options = connection.options
        try:
            binding = options["protocolBinding"]
            sign = bool(options.get("signSAMLRequest"))
            sigalg = saml_options.SIGNATURE_ALGORITHMS[options.get("signatureAlgorithm", "rsa-sha256")]
            digest = saml_options.DIGEST_ALGORITHMS[options.get("digestAlgorithm", "sha256")]
            destination = options["signInEndpoint"]
            with saml_client(connection, signing=sign) as client:
                request_id, authn_request = client.create_authn_request(
                    destination=destination,
                    binding=BINDING_HTTP_POST,  # how the Response comes back
                    sign=sign and binding == BINDING_HTTP_POST,  # embedded signature; Redirect signs the query
                    sign_alg=sigalg,
                    digest_alg=digest,
                )
                if binding == BINDING_HTTP_REDIRECT:
                    info = client.apply_binding(
                        BINDING_HTTP_REDIRECT,
                        str(authn_request),
                        destination,
                        relay_state=state,
                        sign=sign,
                        sigalg=sigalg,
                    )
                    response = HttpResponseRedirect(dict(info["headers"])["Location"])
                else:
                    encoded = base64.b64encode(str(authn_request).encode()).decode()
                    response = _post_page(request, connection, action=destination, saml_request=encoded, state=state)
        except Exception as exc:  # options never checked, a broken key: the admin must fix the connection
            raise FederationError(MISCONFIGURED, reason="misconfigured", detail=f"{type(exc).__name__}: {exc}") from exc
        return response, {"request_id": request_id}

    def complete(self, request: HttpRequest, connection: Connection, *, flow: dict) -> FederatedProfile:
        encoded = request.POST.get("SAMLResponse")
        if not encoded:
            raise FederationError("Your identity provider sent no SAML response.", reason="bad_response")
        request_id = flow.get("request_id")
        if not request_id:
            raise FederationError(
                "This sign-in was not started here: start again from the sign-in page.", reason="unsolicited"
            )
        try:
            with saml_client(connection) as client:
                verified = verify_response(
                    client,
                    encoded,
                    request_id=request_id,
                    idp_entity_id=connection.options["idpEntityId"],
                    audience=sp_entity_id(connection),
                    acs=acs_url(connection),
                    fields_map=connection.options.get("fieldsMap") or {},
                )
        except FederationError:
            raise
        except Exception as exc:  # options never checked or since broken: nothing to verify against
            raise FederationError(MISCONFIGURED, reason="misconfigured", detail=f"{type(exc).__name__}: {exc}") from exc
        _accept_once(connection, verified.assertion_id, verified.expires_at)
        return verified.profile


def _accept_once(connection: Connection, assertion_id: str, expires_at: datetime) -> None:
    """Record the assertion's ID until it expires; an ID seen before is a replay."""
    now = datetime.now(UTC)
    FederatedAssertion.objects.filter(connection=connection, expires_at__lt=now).delete()
    skew = timedelta(seconds=portcullis_settings.FEDERATION_CLOCK_SKEW)
    try:
        with transaction.atomic():
            FederatedAssertion.objects.create(
                connection=connection, assertion_id=assertion_id[:255], expires_at=expires_at + skew
            )
    except IntegrityError as exc:
        raise FederationError(
            "This sign-in response was already used: start again from the sign-in page.",
            reason="replayed",
            detail=f"assertion {assertion_id}",
        ) from exc


STRATEGY = SamlStrategy()
