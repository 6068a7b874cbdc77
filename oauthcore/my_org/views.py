"""The My Organization API's endpoints: the organization of the caller's token, managed by its admins.

Every request is authenticated by a user-delegated token for this API's audience, checked for the
endpoint's scope, then held to the organization the token was issued for (its ``org_id``): the
caller must be an administrator of it, now. No path names an organization, so a token issued for one
organization cannot reach another. Errors use the management API's envelope.
"""

from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response

from oauthcore.api.errors import ApiError, InvalidQueryError, NotFoundError
from oauthcore.api.pagination import offset_page
from oauthcore.api.views.user_api import UserApiViewSet
from oauthcore.api.views.users import user_lookup
from oauthcore.models import OrganizationMember
from oauthcore.models.organizations import MemberRole
from oauthcore.my_org.authentication import MyOrganizationTokenAuthentication
from oauthcore.my_org.serializers import (
    IdentityProviderSerializer,
    MemberSerializer,
    OrganizationDetailsSerializer,
    OrganizationDetailsUpdateSerializer,
)
from oauthcore.services.organizations import organization_members_remove, organization_update

NO_ORGANIZATION = (
    "The token was not issued for an organization: log in to the organization "
    "(organization= at /authorize) to get a token with its org_id."
)
NOT_AN_ADMIN = "Only administrators of the organization may manage it."
PAGING_PARAMETERS = frozenset({"page", "per_page", "include_totals"})


class MyOrganizationViewSet(UserApiViewSet):
    authentication_classes = [MyOrganizationTokenAuthentication]
    # {action: names}: any other query parameter is refused, so a misspelt one never goes unnoticed.
    query_parameters: dict[str, frozenset[str]] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # the token, then the scope: 401 and 403 first
        self.membership = self._administrator(request)
        unknown = sorted(set(request.query_params) - self.query_parameters.get(self.action or "", frozenset()))
        if unknown:
            raise InvalidQueryError(f"Additional properties not allowed: {', '.join(unknown)}.")

    @staticmethod
    def _administrator(request) -> OrganizationMember:
        """The caller's membership of the token's organization, which must be an administrator's."""
        organization_id = request.auth.organization_id
        if organization_id is None:
            raise ApiError(status.HTTP_403_FORBIDDEN, NO_ORGANIZATION, "organization_required")
        membership = (
            OrganizationMember.objects.select_related("organization")
            .filter(organization_id=organization_id, user=request.user)
            .first()
        )
        if membership is None or membership.role != MemberRole.ADMIN:
            raise ApiError(status.HTTP_403_FORBIDDEN, NOT_AN_ADMIN, "insufficient_organization_role")
        return membership

    @property
    def organization(self):
        return self.membership.organization


class DetailsViewSet(MyOrganizationViewSet):
    required_scopes = {"retrieve": "read:my_org:details", "partial_update": "update:my_org:details"}

    def retrieve(self, request):
        return Response(OrganizationDetailsSerializer(self.organization).data)

    def partial_update(self, request):
        """Blocking third-party access revokes the tokens third-party apps hold there (the service)."""
        serializer = OrganizationDetailsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = organization_update(
            actor=self.actor, organization=self.organization, **serializer.validated_data
        )
        return Response(OrganizationDetailsSerializer(organization).data)


class MembersViewSet(MyOrganizationViewSet):
    required_scopes = {"list": "read:my_org:members", "destroy": "delete:my_org:members"}
    query_parameters = {"list": PAGING_PARAMETERS}

    def list(self, request):
        rows = self.organization.memberships.select_related("user__connection").order_by("created_at", "pk")
        return Response(offset_page(request, rows, "members", lambda page: MemberSerializer(page, many=True).data))

    def destroy(self, request, user_id):
        """The member loses what they hold for the organization at once; the last administrator stays."""
        membership = self.organization.memberships.select_related("user").filter(user_lookup(user_id)).first()
        if membership is None:
            raise NotFoundError("The user is not a member of the organization.", "inexistent_member")
        try:
            organization_members_remove(
                actor=self.actor, organization=self.organization, users=[membership.user], keep_an_admin=True
            )
        except ValidationError as exc:
            raise ApiError(status.HTTP_400_BAD_REQUEST, " ".join(exc.messages), "last_organization_admin") from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdentityProvidersViewSet(MyOrganizationViewSet):
    required_scopes = {"list": "read:my_org:identity_providers"}

    def list(self, request):
        links = self.organization.enabled_connections.select_related("connection").order_by("created_at", "pk")
        return Response({"identity_providers": IdentityProviderSerializer(links, many=True).data})
