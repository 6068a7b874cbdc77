"""Organizations' request and response bodies, with Auth0's field names.

Organizations, their members, their enabled connections and the client grants they authorized.
The formats the model checks itself (the name's pattern, https logos, ``#RRGGBB`` colours, the
metadata's bounds) are left to it: the services' validation errors become the API's 400 envelope.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oauthcore.api.serializers import StrictSerializer, _omit, enum_field
from oauthcore.constants import OrganizationUsage, ThirdPartyClientAccess

# Auth0 takes at most this many user ids in one add or remove of members, and this many connections
# enabled with a new organization.
MEMBERS_PER_REQUEST = 10
CONNECTIONS_AT_CREATION = 10


# -- organizations --------------------------------------------------------------------------------


class BrandingColorsSerializer(StrictSerializer):
    # Both, as Auth0 requires: a page is branded with a pair, never half of one.
    primary = serializers.CharField(max_length=7, help_text="A colour such as #0059d6.")
    page_background = serializers.CharField(max_length=7, help_text="A colour such as #000000.")


class BrandingSerializer(StrictSerializer):
    logo_url = serializers.CharField(max_length=2000, required=False, help_text="An https URL.")
    colors = BrandingColorsSerializer(required=False)


class OrganizationSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True, help_text="Omitted when not set.")
    branding = BrandingSerializer(read_only=True, help_text="Omitted when not set.")
    metadata = serializers.DictField(child=serializers.CharField(), read_only=True)
    third_party_client_access = serializers.ChoiceField(choices=ThirdPartyClientAccess.choices, read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return _omit(data, "display_name", "branding", when=lambda value: not value)


class OrganizationUpdateSerializer(StrictSerializer):
    # Not trimmed: " acme" is refused by the name's pattern, never quietly stored as another name.
    name = serializers.CharField(
        max_length=50, trim_whitespace=False, help_text="Lowercase letters, digits, '-' and '_'."
    )
    display_name = serializers.CharField(max_length=255, allow_blank=True)
    branding = BrandingSerializer(allow_null=True, help_text="Replaces the branding; null removes it.")
    metadata = serializers.DictField(
        child=serializers.CharField(max_length=255, allow_blank=True),
        allow_null=True,
        help_text="At most 25 string properties; replaces the metadata, null removes it.",
    )
    third_party_client_access = enum_field(ThirdPartyClientAccess.choices)

    def validate(self, attrs):
        for name in ("branding", "metadata"):
            if name in attrs and attrs[name] is None:
                attrs[name] = {}
        return attrs


# -- members --------------------------------------------------------------------------------------


class OrganizationMemberSerializer(serializers.Serializer):
    """Auth0's member, without roles (those are asked for separately there)."""

    user_id = serializers.CharField(read_only=True, source="user.user_id")
    email = serializers.CharField(read_only=True, source="user.email")
    picture = serializers.SerializerMethodField(help_text="Omitted when the user has none.")
    name = serializers.SerializerMethodField()

    def get_picture(self, membership) -> str:
        return membership.user.federated_profile.get("picture") or ""

    def get_name(self, membership) -> str:
        # Auth0's default: the profile's name, else the email address.
        user = membership.user
        return user.federated_profile.get("name") or user.get_full_name() or user.email or user.username

    def to_representation(self, instance):
        return _omit(super().to_representation(instance), "picture", when=lambda value: not value)


class OrganizationMembersChangeSerializer(StrictSerializer):
    members = serializers.ListField(
        child=serializers.CharField(max_length=420),
        min_length=1,
        max_length=MEMBERS_PER_REQUEST,
        help_text=f"User ids (auth0|…), 1 to {MEMBERS_PER_REQUEST}.",
    )


# -- enabled connections --------------------------------------------------------------------------


class ConnectionSummarySerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    strategy = serializers.CharField(read_only=True)


class OrganizationConnectionSerializer(serializers.Serializer):
    connection_id = serializers.CharField(read_only=True)
    assign_membership_on_login = serializers.BooleanField(read_only=True)
    show_as_button = serializers.BooleanField(read_only=True)
    is_signup_enabled = serializers.BooleanField(read_only=True)
    connection = ConnectionSummarySerializer(read_only=True)


class OrganizationConnectionUpdateSerializer(StrictSerializer):
    assign_membership_on_login = serializers.BooleanField(
        help_text="Whoever signs in through it while logging in to the organization becomes a member."
    )
    show_as_button = serializers.BooleanField()
    is_signup_enabled = serializers.BooleanField(
        help_text="Database connections only, with assign_membership_on_login."
    )


class OrganizationConnectionCreateSerializer(OrganizationConnectionUpdateSerializer):
    connection_id = serializers.CharField(max_length=20)

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            field.required = name == "connection_id"
        return fields


# -- a new organization, with its first connections ---------------------------------------------------


class OrganizationCreateSerializer(OrganizationUpdateSerializer):
    enabled_connections = OrganizationConnectionCreateSerializer(
        many=True,
        max_length=CONNECTIONS_AT_CREATION,
        help_text=f"Connections enabled with it (at most {CONNECTIONS_AT_CREATION}), as in POST enabled_connections.",
    )

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            field.required = name == "name"
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        ids = [link["connection_id"] for link in attrs.get("enabled_connections", [])]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError({"enabled_connections": ["Each connection is listed once."]})
        return attrs


class OrganizationCreatedSerializer(OrganizationSerializer):
    """The new organization, with the connections enabled with it (omitted when none were)."""

    enabled_connections = serializers.SerializerMethodField()

    @extend_schema_field(OrganizationConnectionSerializer(many=True))
    def get_enabled_connections(self, organization) -> list:
        return OrganizationConnectionSerializer(self.context.get("enabled_connections", []), many=True).data

    def to_representation(self, instance):
        return _omit(super().to_representation(instance), "enabled_connections", when=lambda value: not value)


# -- client grants --------------------------------------------------------------------------------


class OrganizationClientGrantSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    client_id = serializers.CharField(read_only=True, source="client.client_id")
    audience = serializers.CharField(read_only=True)
    scope = serializers.ListField(child=serializers.CharField(), read_only=True)
    organization_usage = serializers.ChoiceField(choices=OrganizationUsage.choices, read_only=True)
    allow_any_organization = serializers.BooleanField(read_only=True)

    def to_representation(self, instance):
        return _omit(super().to_representation(instance), "organization_usage")


class OrganizationClientGrantAddSerializer(StrictSerializer):
    grant_id = serializers.CharField(max_length=64, help_text="A client grant of an application, for client access.")
