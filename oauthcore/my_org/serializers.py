"""Bodies of the My Organization API, with Auth0's field names."""

from rest_framework import serializers

from oauthcore.api.serializers import StrictSerializer
from oauthcore.constants import ThirdPartyClientAccess
from oauthcore.models.organizations import MemberRole


class OrganizationDetailsSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    # {"logo_url", "colors": {"primary", "page_background"}}, every part optional.
    branding = serializers.DictField(read_only=True)
    third_party_client_access = serializers.ChoiceField(choices=ThirdPartyClientAccess.choices, read_only=True)


class OrganizationDetailsUpdateSerializer(StrictSerializer):
    """What an organization's administrator may change; its ``name`` (what users type to log in to
    it) and metadata stay with the tenant's administrators. Branding is checked by the model."""

    display_name = serializers.CharField(max_length=255, allow_blank=True, required=False)
    branding = serializers.DictField(required=False)
    third_party_client_access = serializers.ChoiceField(choices=ThirdPartyClientAccess.choices, required=False)


class MemberSerializer(serializers.Serializer):
    user_id = serializers.CharField(source="user.user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.SerializerMethodField()
    role = serializers.ChoiceField(choices=MemberRole.choices, read_only=True)

    def get_name(self, membership) -> str:
        return membership.user.get_full_name() or membership.user.get_username()


class IdentityProviderSerializer(serializers.Serializer):
    """A connection enabled for the organization, and how its members use it there."""

    id = serializers.CharField(source="connection.id", read_only=True)
    name = serializers.CharField(source="connection.name", read_only=True)
    display_name = serializers.CharField(source="connection.label", read_only=True)
    strategy = serializers.CharField(source="connection.strategy", read_only=True)
    assign_membership_on_login = serializers.BooleanField(read_only=True)
    show_as_button = serializers.BooleanField(read_only=True)
    is_signup_enabled = serializers.BooleanField(read_only=True)
