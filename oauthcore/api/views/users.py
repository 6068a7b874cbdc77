from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.account_serializers import UserUpdateSerializer
from oauthcore.api.errors import ApiError, NotFoundError
from oauthcore.api.pagination import OFFSET_PARAMETERS, paginate
from oauthcore.api.serializers import UserCreateSerializer, UserSerializer
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.models import Connection
from oauthcore.services.user_accounts import user_account_update
from oauthcore.services.users import user_create, user_delete


def parse_user_id(user_id: str) -> tuple[str, str] | None:
    """Auth0's ``strategy|id`` as (strategy, uid); None when malformed."""
    strategy, separator, uid = user_id.partition("|")
    return (strategy, uid) if separator and strategy and uid else None


def user_lookup(user_id: str) -> Q:
    """A filter on a related ``user`` for an Auth0 user_id; matches nothing when malformed."""
    parsed = parse_user_id(user_id)
    if parsed is None:
        return Q(pk__in=[])
    return Q(user__connection__strategy=parsed[0], user__uid=parsed[1])


def queryset():
    return get_user_model().objects.select_related("connection").order_by("pk")


class UserViewSet(ManagementViewSet):
    required_scopes = {
        "list": "read:users",
        "retrieve": "read:users",
        "create": "create:users",
        "destroy": "delete:users",
        "partial_update": "update:users",
    }
    not_found = ("The user does not exist.", "inexistent_user")

    def get_object(self, pk):
        parsed = parse_user_id(pk)
        if parsed is None:
            raise NotFoundError(*self.not_found)
        return self.get_or_404(queryset(), connection__strategy=parsed[0], uid=parsed[1])

    @extend_schema(
        summary="List users",
        parameters=[*OFFSET_PARAMETERS, OpenApiParameter("connection", OpenApiTypes.STR)],
        responses=UserSerializer(many=True),
    )
    def list(self, request):
        rows = queryset()
        if connection := request.query_params.get("connection"):
            rows = rows.filter(connection__name=connection)
        return Response(paginate(request, rows, "users", lambda r: UserSerializer(r, many=True).data))

    @extend_schema(
        summary="Create a user",
        request=UserCreateSerializer,
        responses={201: UserSerializer},
        examples=[
            OpenApiExample(
                "A database user",
                value={
                    "connection": "Username-Password-Authentication",
                    "email": "alice@example.com",
                    "password": "a long passphrase",
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        data = self.parse(UserCreateSerializer)
        connection = Connection.objects.filter(name=data["connection"]).first()
        if connection is None:
            raise NotFoundError("The connection does not exist", "inexistent_connection")
        user = user_create(
            actor=self.actor,
            connection=connection,
            email=data["email"],
            username=data.get("username") or data["email"],
            password=data["password"],
            email_verified=data["email_verified"],
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get a user", responses=UserSerializer)
    def retrieve(self, request, pk):
        return Response(UserSerializer(self.get_object(pk)).data)

    @extend_schema(summary="Update a user", request=UserUpdateSerializer, responses=UserSerializer)
    def partial_update(self, request, pk):
        """Auth0's rules: a password is changed alone (not with the email or its verification), and
        ``connection``, when given, names the user's own connection."""
        user = self.get_object(pk)
        data = self.parse(UserUpdateSerializer)
        if "password" in data and ({"email", "email_verified"} & set(data) or data["verify_email"]):
            raise ApiError(400, "Cannot update password and email simultaneously", "operation_not_supported")
        if "connection" in data and data["connection"] != user.connection.name:
            raise ApiError(400, "The connection is not the user's.", "invalid_body")
        user = user_account_update(
            actor=self.actor,
            user=user,
            blocked=data.get("blocked"),
            email=data.get("email"),
            email_verified=data.get("email_verified"),
            verify_email=data["verify_email"],
            password=data.get("password"),
        )
        return Response(UserSerializer(user).data)

    @extend_schema(summary="Delete a user", responses={204: None})
    def destroy(self, request, pk):
        user_delete(actor=self.actor, user=self.get_object(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
