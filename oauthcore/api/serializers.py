"""Request and response bodies, with Auth0's field names."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oauthcore.api.errors import ADDITIONAL_PROPERTIES
from oauthcore.conf import portcullis_settings
from oauthcore.constants import (
    AppType,
    ClientPolicy,
    ConnectionStrategy,
    DefaultFor,
    MfaPolicy,
    OrganizationRequireBehavior,
    OrganizationUsage,
    RedirectionPolicy,
    SecurityMode,
    SubjectType,
    TokenEndpointAuthMethod,
    UserPolicy,
)
from oauthcore.validation import string_list_error, url_list_error

JSON_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


def json_type(value) -> str:
    return "null" if value is None else JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def expected_json_type(field) -> tuple[str, tuple] | None:
    """The JSON type a field takes, as (name, Python types); None to let the field decide."""
    if isinstance(field, serializers.BooleanField):
        return "boolean", (bool,)
    if isinstance(field, serializers.IntegerField):
        return "integer", (int,)
    if isinstance(field, serializers.CharField | serializers.ChoiceField):
        return "string", (str,)
    if isinstance(field, serializers.ListField):
        return "array", (list,)
    if isinstance(field, serializers.DictField):
        return "object", (dict,)
    return None


def is_json_type(value, types: tuple) -> bool:
    if isinstance(value, bool):  # a bool is an int in Python, never in JSON
        return bool in types
    return isinstance(value, types)


def type_errors(fields, data: Mapping) -> dict:
    """Auth0 checks JSON types before anything else: ``"Expected type string but found type integer"``.
    DRF would turn 0 into "0" and "yes" into True; the schema promises exactly the declared types."""
    errors = {}
    for name, value in data.items():
        field = fields.get(name)
        expected = expected_json_type(field) if field is not None else None
        if expected is None or (value is None and field.allow_null):
            continue
        type_name, types = expected
        if not is_json_type(value, types):
            errors[name] = [f"Expected type {type_name} but found type {json_type(value)}"]
            continue
        child = expected_json_type(field.child) if hasattr(field, "child") else None
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else []
        if child is not None and not all(is_json_type(item, child[1]) for item in items):
            errors[name] = [f"Expected type {child[0]} for every item"]
    return errors


class StrictSerializer(serializers.Serializer):
    """Refuses properties it does not know, as Auth0 does ("Additional properties not allowed"),
    and values of another JSON type than the property's."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name: field for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - set(writable))
            if unknown:
                raise serializers.ValidationError(
                    {ADDITIONAL_PROPERTIES: [f"Additional properties not allowed ({', '.join(unknown)})"]}
                )
            if errors := type_errors(writable, data):
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _strings(**kwargs):
    return serializers.ListField(child=serializers.CharField(max_length=2000), **kwargs)


class BoundedListField(serializers.ListField):
    """A client's list (callbacks, origins, grant types), bounded by the client metadata limits
    before any item is validated; ``bound`` is ``url_list_error`` or ``string_list_error``."""

    def __init__(self, *, bound, **kwargs):
        self.bound = bound
        super().__init__(child=serializers.CharField(), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list) and (message := self.bound(self.field_name, data)):
            raise serializers.ValidationError(message)
        return super().to_internal_value(data)


class ClientMetadataField(serializers.DictField):
    """A client's ``client_metadata``: a few short string values under short keys."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(allow_blank=True), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            limit, longest = (
                portcullis_settings.CLIENT_METADATA_MAX_LIST,
                portcullis_settings.CLIENT_METADATA_MAX_STRING,
            )
            if len(data) > limit:
                raise serializers.ValidationError(f"client_metadata holds at most {limit} keys.")
            if any(len(str(key)) > longest or (isinstance(v, str) and len(v) > longest) for key, v in data.items()):
                raise serializers.ValidationError(
                    f"client_metadata keys and values are strings of at most {longest} characters."
                )
        return super().to_internal_value(data)


def enum_field(choices, **kwargs) -> serializers.ChoiceField:
    """A ChoiceField whose error names the values it accepts."""
    values = ", ".join(value for value, _ in choices)
    return serializers.ChoiceField(
        choices=choices, error_messages={"invalid_choice": f'"{{input}}" is not one of: {values}.'}, **kwargs
    )


def _omit(data: dict, *names: str, when=lambda value: value is None) -> dict:
    for name in names:
        if name in data and when(data[name]):
            del data[name]
    return data


# -- clients ----------------------------------------------------------------------------------------


class ClientSerializer(serializers.Serializer):
    client_id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    logo_uri = serializers.CharField(read_only=True)
    app_type = serializers.ChoiceField(choices=AppType.choices, read_only=True)
    is_first_party = serializers.BooleanField(read_only=True)
    third_party_security_mode = serializers.ChoiceField(
        choices=SecurityMode.choices, read_only=True, help_text="Third-party clients only."
    )
    redirection_policy = serializers.ChoiceField(choices=RedirectionPolicy.choices, read_only=True)
    callbacks = _strings(read_only=True)
    allowed_origins = _strings(read_only=True, source="allowed_origin_list")
    web_origins = _strings(read_only=True)
    grant_types = _strings(read_only=True)
    token_endpoint_auth_method = serializers.ChoiceField(choices=TokenEndpointAuthMethod.choices, read_only=True)
    client_metadata = serializers.DictField(child=serializers.CharField(), read_only=True)
    organization_usage = serializers.ChoiceField(choices=OrganizationUsage.choices, read_only=True)
    organization_require_behavior = serializers.ChoiceField(choices=OrganizationRequireBehavior.choices, read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.is_first_party:
            data.pop("third_party_security_mode", None)
        return data


class ClientWithSecretSerializer(ClientSerializer):
    client_secret = serializers.SerializerMethodField()

    def get_client_secret(self, instance) -> str:
        return self.context["client_secret"]


class ClientUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=140, allow_blank=True)
    logo_uri = serializers.CharField(max_length=2000, allow_blank=True)
    app_type = serializers.ChoiceField(choices=AppType.choices)
    is_first_party = serializers.BooleanField(help_text="Fixed at creation: sending the same value is accepted.")
    third_party_security_mode = serializers.ChoiceField(
        choices=SecurityMode.choices, help_text="Third-party clients only; fixed at creation."
    )
    redirection_policy = serializers.ChoiceField(choices=RedirectionPolicy.choices)
    callbacks = BoundedListField(bound=url_list_error)
    allowed_origins = BoundedListField(bound=url_list_error)
    web_origins = BoundedListField(bound=url_list_error)
    grant_types = BoundedListField(bound=string_list_error)
    token_endpoint_auth_method = serializers.ChoiceField(choices=TokenEndpointAuthMethod.choices)
    client_metadata = ClientMetadataField()
    organization_usage = enum_field(
        OrganizationUsage.choices, help_text="Whether users log in to an organization: never, when asked, always."
    )
    organization_require_behavior = enum_field(
        OrganizationRequireBehavior.choices,
        help_text="With organization_usage require: what /authorize does when the request names no organization.",
    )


class ClientCreateSerializer(ClientUpdateSerializer):
    name = serializers.CharField(max_length=255, required=True)

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            field.required = name == "name"
        return fields


# -- resource servers -------------------------------------------------------------------------------


class ScopeSerializer(StrictSerializer):
    value = serializers.CharField(max_length=280)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")


class UserPolicySerializer(StrictSerializer):
    policy = serializers.ChoiceField(choices=UserPolicy.choices)


class ClientPolicySerializer(StrictSerializer):
    policy = serializers.ChoiceField(choices=ClientPolicy.choices)


class SubjectTypeAuthorizationSerializer(StrictSerializer):
    user = UserPolicySerializer(required=False)
    client = ClientPolicySerializer(required=False)


class ResourceServerSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    identifier = serializers.CharField(read_only=True)
    is_system = serializers.BooleanField(read_only=True)
    scopes = ScopeSerializer(many=True, read_only=True)
    signing_alg = serializers.ChoiceField(choices=[("RS256", "RS256")], read_only=True)
    token_lifetime = serializers.IntegerField(read_only=True)
    allow_offline_access = serializers.BooleanField(read_only=True)
    skip_consent_for_verifiable_first_party_clients = serializers.BooleanField(read_only=True)
    subject_type_authorization = SubjectTypeAuthorizationSerializer(read_only=True)
    client_id = serializers.CharField(read_only=True, source="client.client_id", help_text="The linked client.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return _omit(data, "client_id")


class ResourceServerUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    identifier = serializers.CharField(max_length=600, help_text="Fixed at creation.")
    scopes = ScopeSerializer(many=True)
    signing_alg = serializers.ChoiceField(choices=[("RS256", "RS256")])
    token_lifetime = serializers.IntegerField()
    allow_offline_access = serializers.BooleanField()
    skip_consent_for_verifiable_first_party_clients = serializers.BooleanField()
    subject_type_authorization = SubjectTypeAuthorizationSerializer()
    client_id = serializers.CharField(allow_null=True, help_text="The API's linked confidential client.")


class ResourceServerCreateSerializer(ResourceServerUpdateSerializer):
    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            field.required = name == "identifier"
        return fields


# -- client grants ----------------------------------------------------------------------------------


class ClientGrantSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    client_id = serializers.CharField(read_only=True, source="client.client_id", help_text="Absent for default grants.")
    default_for = serializers.ChoiceField(choices=DefaultFor.choices, read_only=True)
    audience = serializers.CharField(read_only=True)
    scope = _strings(read_only=True, help_text="Omitted when allow_all_scopes is true.")
    allow_all_scopes = serializers.BooleanField(read_only=True)
    subject_type = serializers.ChoiceField(choices=SubjectType.choices, read_only=True)
    organization_usage = serializers.ChoiceField(choices=OrganizationUsage.choices, read_only=True)
    allow_any_organization = serializers.BooleanField(read_only=True)
    is_system = serializers.BooleanField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        _omit(data, "client_id", "default_for", "organization_usage")
        if instance.allow_all_scopes:
            data.pop("scope", None)
        return data


class ClientGrantUpdateSerializer(StrictSerializer):
    scope = _strings()
    allow_all_scopes = serializers.BooleanField()
    organization_usage = serializers.ChoiceField(choices=OrganizationUsage.choices, allow_null=True)
    allow_any_organization = serializers.BooleanField()
    # Fixed at creation: sending the same value again is accepted, a change is refused.
    client_id = serializers.CharField()
    default_for = serializers.ChoiceField(choices=DefaultFor.choices)
    audience = serializers.CharField()
    subject_type = serializers.ChoiceField(choices=SubjectType.choices)


class ClientGrantCreateSerializer(StrictSerializer):
    client_id = serializers.CharField(required=False, help_text="Exactly one of client_id and default_for.")
    default_for = serializers.ChoiceField(choices=DefaultFor.choices, required=False)
    audience = serializers.CharField(max_length=600)
    scope = _strings(required=False)
    allow_all_scopes = serializers.BooleanField(required=False)
    subject_type = serializers.ChoiceField(choices=SubjectType.choices, required=False, default=SubjectType.CLIENT)
    organization_usage = serializers.ChoiceField(choices=OrganizationUsage.choices, required=False, allow_null=True)
    allow_any_organization = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if ("client_id" in attrs) == ("default_for" in attrs):
            raise serializers.ValidationError("Exactly one of client_id and default_for is required.")
        return attrs


# -- connections ------------------------------------------------------------------------------------


class ConnectionSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    strategy = serializers.ChoiceField(choices=ConnectionStrategy.choices, read_only=True)
    is_domain_connection = serializers.BooleanField(read_only=True)
    show_as_button = serializers.BooleanField(read_only=True)
    # Secret options (an OpenID Connect client_secret, a SAML signing key) are never among them.
    options = serializers.DictField(read_only=True)
    realms = serializers.SerializerMethodField()

    def get_realms(self, connection) -> list[str]:
        return [connection.name]


class ConnectionUpdateSerializer(StrictSerializer):
    display_name = serializers.CharField(max_length=128, allow_blank=True)
    is_domain_connection = serializers.BooleanField()
    show_as_button = serializers.BooleanField()
    # Replaces the stored options; a secret option left out keeps its value.
    options = serializers.DictField()


class ConnectionCreateSerializer(ConnectionUpdateSerializer):
    name = serializers.CharField(max_length=128)
    strategy = serializers.ChoiceField(choices=ConnectionStrategy.choices)
    enabled_clients = serializers.ListField(child=serializers.CharField(max_length=64), max_length=1000)

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            field.required = name in ("name", "strategy")
        return fields


class EnabledClientSerializer(serializers.Serializer):
    client_id = serializers.CharField(read_only=True)


class EnabledClientsSerializer(serializers.Serializer):
    clients = EnabledClientSerializer(many=True, read_only=True)
    next = serializers.CharField(read_only=True, required=False)


class EnabledClientChangeSerializer(StrictSerializer):
    client_id = serializers.CharField()
    status = serializers.BooleanField()


# -- grants (users' consents) -----------------------------------------------------------------------


class UserGrantSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    clientID = serializers.CharField(read_only=True, source="client.client_id")
    user_id = serializers.CharField(read_only=True, source="user.user_id")
    audience = serializers.CharField(read_only=True)
    scope = _strings(read_only=True)


# -- users ------------------------------------------------------------------------------------------


class IdentitySerializer(serializers.Serializer):
    connection = serializers.CharField(read_only=True)
    provider = serializers.CharField(read_only=True)
    user_id = serializers.CharField(read_only=True)
    isSocial = serializers.BooleanField(read_only=True)


def auth0_datetime(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class UserSerializer(serializers.Serializer):
    user_id = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    username = serializers.CharField(read_only=True)
    blocked = serializers.SerializerMethodField()
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()
    identities = serializers.SerializerMethodField()

    def get_blocked(self, user) -> bool:
        """Auth0's ``blocked``: here an inactive account (``user_deactivate``)."""
        return not user.is_active

    def get_created_at(self, user) -> str:
        return auth0_datetime(user.date_joined)

    def get_updated_at(self, user) -> str:
        return auth0_datetime(max(filter(None, [user.date_joined, user.last_login])))

    @extend_schema_field(IdentitySerializer(many=True))
    def get_identities(self, user) -> list:
        return [
            {
                "connection": user.connection.name,
                "provider": user.connection.strategy,
                "user_id": user.uid,
                "isSocial": False,
            }
        ]


class UserCreateSerializer(StrictSerializer):
    connection = serializers.CharField(max_length=128)
    email = serializers.EmailField()
    # Auth0's name: the caller vouches for the address (false by default, as there).
    email_verified = serializers.BooleanField(required=False, default=False)
    username = serializers.CharField(max_length=150, required=False)
    password = serializers.CharField(write_only=True, max_length=1024, trim_whitespace=False)


# -- tenant settings --------------------------------------------------------------------------------


class TenantFlagsSerializer(StrictSerializer):
    # Optional in a PATCH (flags are merged); always present in answers.
    enable_dynamic_client_registration = serializers.BooleanField(required=False)


class TenantSettingsSerializer(serializers.Serializer):
    friendly_name = serializers.CharField(read_only=True)
    support_email = serializers.CharField(read_only=True)
    default_audience = serializers.CharField(read_only=True)
    flags = serializers.SerializerMethodField()

    @extend_schema_field(TenantFlagsSerializer)
    def get_flags(self, tenant) -> dict:
        return {"enable_dynamic_client_registration": tenant.enable_dynamic_client_registration}

    allow_organization_name_in_authentication_api = serializers.BooleanField(read_only=True)
    mfa_policy = serializers.CharField(read_only=True)


class TenantSettingsUpdateSerializer(StrictSerializer):
    friendly_name = serializers.CharField(max_length=255, required=False)
    support_email = serializers.CharField(max_length=254, allow_blank=True, required=False)
    default_audience = serializers.CharField(max_length=600, allow_blank=True, required=False)
    allow_organization_name_in_authentication_api = serializers.BooleanField(
        required=False, help_text="Organization tokens carry org_name too; requests may name an organization."
    )
    mfa_policy = serializers.ChoiceField(
        choices=MfaPolicy.values,
        required=False,
        help_text="When the login asks for a second factor: never, optional (who enrolled one) or always.",
    )
    flags = TenantFlagsSerializer(required=False)
