"""Request bodies of the user tickets and of a user's update, in Auth0's names."""

from rest_framework import serializers

from oauthcore.api.serializers import StrictSerializer
from oauthcore.conf import portcullis_settings


def _ttl():
    return serializers.IntegerField(required=False, min_value=0, max_value=portcullis_settings.ACCOUNT_LINK_MAX_SECONDS)


def _result_url():
    return serializers.URLField(required=False, max_length=2000)


class TicketIdentitySerializer(StrictSerializer):
    user_id = serializers.CharField(max_length=400)
    provider = serializers.CharField(max_length=20)


class EmailVerificationTicketSerializer(StrictSerializer):
    user_id = serializers.CharField(max_length=500)
    result_url = _result_url()
    ttl_sec = _ttl()
    includeEmailInRedirect = serializers.BooleanField(required=False, default=False)
    identity = TicketIdentitySerializer(required=False)
    client_id = serializers.CharField(required=False, max_length=600)
    organization_id = serializers.CharField(required=False, max_length=50)

    def validate(self, data):
        if data.get("result_url") and data.get("client_id"):
            raise serializers.ValidationError("result_url and client_id cannot be used together")
        return data


class PasswordChangeTicketSerializer(StrictSerializer):
    user_id = serializers.CharField(required=False, max_length=500)
    email = serializers.EmailField(required=False)
    connection_id = serializers.CharField(required=False, max_length=20)
    result_url = _result_url()
    ttl_sec = _ttl()
    mark_email_as_verified = serializers.BooleanField(required=False, default=False)
    identity = TicketIdentitySerializer(required=False)
    includeEmailInRedirect = serializers.BooleanField(required=False, default=False)
    client_id = serializers.CharField(required=False, max_length=600)
    organization_id = serializers.CharField(required=False, max_length=50)

    def validate(self, data):
        if data.get("user_id") and (data.get("email") or data.get("connection_id")):
            raise serializers.ValidationError("user_id cannot be used with email or connection_id")
        if not data.get("user_id") and not (data.get("email") and data.get("connection_id")):
            raise serializers.ValidationError("Give user_id, or email and connection_id")
        return data


class TicketSerializer(serializers.Serializer):
    ticket = serializers.URLField(read_only=True)


class UserUpdateSerializer(StrictSerializer):
    blocked = serializers.BooleanField(required=False)
    email = serializers.EmailField(required=False)
    email_verified = serializers.BooleanField(required=False)
    verify_email = serializers.BooleanField(required=False, default=False)
    password = serializers.CharField(required=False, write_only=True, max_length=1024, trim_whitespace=False)
    connection = serializers.CharField(required=False, max_length=128)
