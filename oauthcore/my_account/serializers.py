"""Bodies of the My Account API, with Auth0's field names."""

from rest_framework import serializers

from oauthcore.api.serializers import StrictSerializer, auth0_datetime


class ProfileSerializer(serializers.Serializer):
    user_id = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    username = serializers.CharField(read_only=True)
    given_name = serializers.CharField(source="first_name", read_only=True)
    family_name = serializers.CharField(source="last_name", read_only=True)
    name = serializers.SerializerMethodField()
    connection = serializers.CharField(source="connection.name", read_only=True)

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class ProfileUpdateSerializer(StrictSerializer):
    """What a user may change about themselves here: their name. The email address changes only
    through a verified link, and the username is how they sign in."""

    given_name = serializers.CharField(max_length=150, allow_blank=True, required=False, trim_whitespace=True)
    family_name = serializers.CharField(max_length=150, allow_blank=True, required=False, trim_whitespace=True)


class GrantSerializer(serializers.Serializer):
    """One of the user's consents: an app they authorized, for one API (Auth0's grant shape)."""

    id = serializers.CharField(read_only=True)
    clientID = serializers.CharField(source="client.client_id", read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)
    audience = serializers.CharField(read_only=True)
    scope = serializers.ListField(child=serializers.CharField(), read_only=True)
    organization_id = serializers.CharField(read_only=True, allow_null=True)
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()

    def get_created_at(self, grant) -> str:
        return auth0_datetime(grant.created_at)

    def get_updated_at(self, grant) -> str:
        return auth0_datetime(grant.updated_at)


class AuthenticationMethodSerializer(serializers.Serializer):
    """Auth0's fields; ``name``, ``confirmed`` and ``last_auth_at`` for a second factor only."""

    id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True, required=False)
    usage = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_at = serializers.CharField(read_only=True, required=False)

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body.update({key: instance[key] for key in ("name", "confirmed", "last_auth_at") if key in instance})
        return body


class EnrollmentSerializer(StrictSerializer):
    type = serializers.CharField()


class EnrollmentVerifySerializer(StrictSerializer):
    auth_session = serializers.CharField(max_length=1000)
    otp_code = serializers.CharField(max_length=16)
