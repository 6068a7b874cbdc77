"""``POST /api/v2/tickets/email-verification`` and ``/tickets/password-change``: a one-time link for
the caller to pass on to the user (nothing is emailed). Where the user ends up afterwards follows the
redirection rule of the app named by ``client_id`` (``oauthcore.account_flows``), else ``result_url``."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.account_serializers import (
    EmailVerificationTicketSerializer,
    PasswordChangeTicketSerializer,
    TicketSerializer,
)
from oauthcore.api.errors import ApiError, NotFoundError
from oauthcore.api.views.base import ManagementViewSet
from oauthcore.api.views.users import parse_user_id, queryset
from oauthcore.constants import ConnectionStrategy
from oauthcore.models import AccountLinkPurpose, Application
from oauthcore.services.user_accounts import ticket_issue

NO_USER = ("The user does not exist.", "inexistent_user")


def _user(user_id: str):
    parsed = parse_user_id(user_id)
    user = queryset().filter(connection__strategy=parsed[0], uid=parsed[1]).first() if parsed else None
    if user is None:
        raise NotFoundError(*NO_USER)
    return user


def _application(client_id: str | None):
    if not client_id:
        return None
    application = Application.objects.filter(client_id=client_id).first()
    if application is None:
        raise NotFoundError("The client does not exist", "inexistent_client")
    return application


def _check_identity(user, identity) -> None:
    """The user has one identity here: a ticket naming another is refused."""
    if identity and (identity["provider"] != user.connection.strategy or identity["user_id"] != user.uid):
        raise ApiError(400, "The identity is not one of the user's.", "invalid_body")


class TicketViewSet(ManagementViewSet):
    required_scopes = {"email_verification": "create:user_tickets", "password_change": "create:user_tickets"}

    @extend_schema(
        summary="Create an email verification ticket",
        request=EmailVerificationTicketSerializer,
        responses={201: TicketSerializer},
    )
    def email_verification(self, request):
        data = self.parse(EmailVerificationTicketSerializer)
        user = _user(data["user_id"])
        _check_identity(user, data.get("identity"))
        issued = ticket_issue(
            actor=self.actor,
            user=user,
            purpose=AccountLinkPurpose.VERIFY_EMAIL,
            application=_application(data.get("client_id")),
            result_url=data.get("result_url", ""),
            ttl_seconds=data.get("ttl_sec"),
            include_email_in_redirect=data["includeEmailInRedirect"],
        )
        return Response({"ticket": issued.url}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Create a password change ticket",
        request=PasswordChangeTicketSerializer,
        responses={201: TicketSerializer},
    )
    def password_change(self, request):
        data = self.parse(PasswordChangeTicketSerializer)
        if data.get("user_id"):
            user = _user(data["user_id"])
        else:
            user = (
                get_user_model()
                .objects.select_related("connection")
                .filter(
                    connection_id=data["connection_id"],
                    connection__strategy=ConnectionStrategy.DATABASE,
                    email__iexact=data["email"],
                )
                .order_by("-email_verified", "pk")
                .first()
            )
            if user is None:
                raise NotFoundError(*NO_USER)
        _check_identity(user, data.get("identity"))
        issued = ticket_issue(
            actor=self.actor,
            user=user,
            purpose=AccountLinkPurpose.RESET_PASSWORD,
            application=_application(data.get("client_id")),
            result_url=data.get("result_url", ""),
            ttl_seconds=data.get("ttl_sec"),
            mark_email_verified=data["mark_email_as_verified"],
            include_email_in_redirect=data["includeEmailInRedirect"],
        )
        return Response({"ticket": issued.url}, status=status.HTTP_201_CREATED)
