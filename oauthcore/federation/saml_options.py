"""A ``samlp`` connection's options, in Auth0's names, checked and normalised.

The identity provider is given by its metadata (``metadataUrl``, fetched now, or ``metadataXml``)
or by hand (``signInEndpoint``, ``signingCert`` and ``idpEntityId``). Either way the options stored
hold the result, normalised: ``idpEntityId``, ``signInEndpoint`` (for ``protocolBinding``),
``signingCert`` (PEM, one certificate or several during a rollover), ``thumbprints`` and
``expires``. Portcullis's own signing key is a secret (``signing_key``, generated on create when
none is given); its certificate (``sp_signing_cert``) is public, it goes in our SP metadata.
"""

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from oauthcore.federation import saml_certs, saml_metadata
from oauthcore.federation.base import PROFILE_FIELDS, OptionsCheck
from oauthcore.federation.common_options import domain_aliases, icon_url_error, provider_url_error

SECRET_OPTIONS = frozenset({"signing_key"})
SIGNATURE_ALGORITHMS = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
}
DIGEST_ALGORITHMS = {
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
}
BINDINGS = (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
DERIVED = ("idpEntityId", "signInEndpoint", "signingCert", "thumbprints", "expires")


class OptionError(ValueError):
    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option
        self.message = message


def _url(options: dict, name: str) -> str:
    value = options.get(name)
    if error := provider_url_error(value):
        raise OptionError(name, error)
    return value


def _idp(options: dict) -> saml_metadata.IdpMetadata:
    """The identity provider, from whichever of the three ways the options give it."""
    if options.get("metadataUrl"):
        url = _url(options, "metadataUrl")
        try:
            return saml_metadata.parse_idp(saml_metadata.fetch(url))
        except saml_metadata.MetadataError as exc:
            raise OptionError("metadataUrl", str(exc)) from exc
    if options.get("metadataXml"):
        if not isinstance(options["metadataXml"], str):
            raise OptionError("metadataXml", "Give the metadata document as a string.")
        try:
            return saml_metadata.parse_idp(options["metadataXml"].encode())
        except saml_metadata.MetadataError as exc:
            raise OptionError("metadataXml", str(exc)) from exc
    if not options.get("signInEndpoint"):
        raise OptionError("metadataUrl", "Give metadataUrl, metadataXml, or signInEndpoint with signingCert.")
    sso_url = _url(options, "signInEndpoint")
    if not options.get("signingCert"):
        raise OptionError("signingCert", "Give the identity provider's signing certificate (PEM or base64 DER).")
    try:
        certs = saml_certs.load_certificates(str(options["signingCert"]))
    except saml_certs.BadCertificate as exc:
        raise OptionError("signingCert", f"The certificate cannot be read: {exc}") from exc
    entity_id = options.get("idpEntityId")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise OptionError("idpEntityId", "Give the identity provider's entity id (the Issuer of its responses).")
    binding = options.get("protocolBinding") or BINDING_HTTP_REDIRECT
    return saml_metadata.IdpMetadata(entity_id=entity_id.strip(), sso_urls={binding: sso_url}, signing_certs=certs)


def _binding(options: dict, idp: saml_metadata.IdpMetadata) -> str:
    wanted = options.get("protocolBinding")
    if wanted and wanted not in BINDINGS:
        raise OptionError("protocolBinding", f"Use one of: {', '.join(BINDINGS)}.")
    if wanted:
        if wanted not in idp.sso_urls:
            raise OptionError("protocolBinding", "The identity provider has no sign-in endpoint for this binding.")
        return wanted
    return BINDING_HTTP_REDIRECT if BINDING_HTTP_REDIRECT in idp.sso_urls else BINDING_HTTP_POST


def _choice(options: dict, name: str, allowed, default: str) -> str:
    value = options.get(name) or default
    if value not in allowed:
        raise OptionError(name, f"Use one of: {', '.join(allowed)}.")
    return value


def _fields_map(value) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise OptionError("fieldsMap", "Give an object: profile field -> attribute name (or a list of names).")
    out = {}
    for field_name, names in value.items():
        if field_name not in PROFILE_FIELDS:
            raise OptionError("fieldsMap", f"Unknown profile field '{field_name}': use {', '.join(PROFILE_FIELDS)}.")
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not 1 <= len(names) <= 4 or not all(isinstance(n, str) and n for n in names):
            raise OptionError("fieldsMap", f"'{field_name}': give an attribute name or a list of up to 4.")
        out[field_name] = names[0] if len(names) == 1 else names
    return out


def _domains(value) -> list[str]:
    domains, error = domain_aliases(value)
    if error:
        raise OptionError("domain_aliases", error)
    return domains


def _sp_key(options: dict, secrets: dict, label: str) -> tuple[str, str]:
    """Our signing key (secret) and certificate: the ones given, the ones kept, or new ones."""
    given_key = options.get("signing_key")
    cert = options.get("sp_signing_cert")
    if given_key:
        try:
            key = saml_certs.load_private_key(str(given_key))
        except (ValueError, TypeError) as exc:
            raise OptionError("signing_key", "Give an unencrypted RSA private key in PEM.") from exc
        key_pem = str(given_key)
        if not cert:
            return key_pem, saml_certs.self_signed_cert(key, label)
    elif secrets.get("signing_key"):
        key_pem = secrets["signing_key"]
        key = saml_certs.load_private_key(key_pem)
        if not cert:
            return key_pem, saml_certs.self_signed_cert(key, label)
    else:
        if cert:
            raise OptionError("sp_signing_cert", "Give signing_key with the certificate.")
        return saml_certs.new_sp_key_pair(label)
    try:
        if not saml_certs.key_matches_cert(key, str(cert)):
            raise OptionError("sp_signing_cert", "The certificate is not signing_key's.")
        return key_pem, saml_certs.to_pem(saml_certs.load_certificates(str(cert))[:1])
    except saml_certs.BadCertificate as exc:
        raise OptionError("sp_signing_cert", f"The certificate cannot be read: {exc}") from exc


def check(options: dict, *, current, label: str) -> OptionsCheck:
    """``options`` checked (``label`` names our certificate); the metadata URL is fetched here."""
    options = dict(options or {})
    errors: dict[str, str] = {}
    kept = dict(current.secrets) if current is not None else {}
    if current is not None and not options.get("signing_key") and not options.get("sp_signing_cert"):
        # the certificate of the key we keep: sent back or not, it stays what the IdP has loaded
        options["sp_signing_cert"] = current.options.get("sp_signing_cert")
    secrets: dict[str, str] = {}
    out = {k: v for k, v in options.items() if k not in SECRET_OPTIONS and k not in DERIVED}

    def attempt(step):
        try:
            step()
        except OptionError as exc:
            errors.setdefault(exc.option, exc.message)

    def idp_step():
        idp = _idp(options)
        binding = _binding(options, idp)
        out.update(
            idpEntityId=idp.entity_id,
            protocolBinding=binding,
            signInEndpoint=idp.sso_urls[binding],
            signingCert=saml_certs.to_pem(idp.signing_certs),
            thumbprints=[saml_certs.thumbprint(c) for c in idp.signing_certs],
            expires=min(c.not_valid_after_utc for c in idp.signing_certs).isoformat(),
        )

    def algorithms_step():
        out["signatureAlgorithm"] = _choice(options, "signatureAlgorithm", SIGNATURE_ALGORITHMS, "rsa-sha256")

    def digest_step():
        out["digestAlgorithm"] = _choice(options, "digestAlgorithm", DIGEST_ALGORITHMS, "sha256")

    def flags_step():
        value = options.get("signSAMLRequest", False)
        if not isinstance(value, bool):
            raise OptionError("signSAMLRequest", "Give true or false.")
        out["signSAMLRequest"] = value

    def fields_step():
        out["fieldsMap"] = _fields_map(options.get("fieldsMap"))

    def domains_step():
        out["domain_aliases"] = _domains(options.get("domain_aliases"))

    def icon_step():
        if options.get("icon_url"):
            if error := icon_url_error(options["icon_url"]):
                raise OptionError("icon_url", error)
            out["icon_url"] = options["icon_url"]

    def key_step():
        key, out["sp_signing_cert"] = _sp_key(options, kept, label)
        if key != kept.get("signing_key"):
            secrets["signing_key"] = key  # only a new key is returned: the caller keeps the others

    for step in (
        idp_step,
        algorithms_step,
        digest_step,
        flags_step,
        fields_step,
        domains_step,
        icon_step,
        key_step,
    ):
        attempt(step)
    if errors:
        return OptionsCheck(options={}, secrets={}, errors=errors)
    return OptionsCheck(options=out, secrets=secrets, errors={})
