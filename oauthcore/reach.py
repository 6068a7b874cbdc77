"""Who a tenant-wide change reaches, counted before it is made: the admin says so in words and asks
for a confirmation (a default grant for every third-party app, a connection taken off domain level).

Read-only, and a bounded number of statements whatever the tenant's size. The rules mirror
``oauthcore.policy``: a third-party app falls back on the default grant only when it has no grant of
its own for that API and subject type (``Rule.POLICY``), and signs users in only through domain-level
connections (``Rule.CONNECTION``).
"""

from collections.abc import Iterable

from django.db.models import Q

from oauthcore.constants import GrantType, SubjectType
from oauthcore.models import AccessToken, Application, ClientGrant, Connection, RefreshToken

# The grant types through which an app acts for each subject type.
GRANT_TYPES_OF = {
    SubjectType.CLIENT: frozenset({GrantType.CLIENT_CREDENTIALS}),
    SubjectType.USER: frozenset({GrantType.AUTHORIZATION_CODE, GrantType.DEVICE_CODE}),
}


def _count_using(applications, grant_types: Iterable[str]) -> int:
    """How many of ``applications`` list one of ``grant_types`` (one statement: JSON lists are not
    searchable on every database, so the lists are read and matched here)."""
    wanted = frozenset(grant_types)
    return sum(1 for listed in applications.values_list("grant_types", flat=True) if wanted & set(listed or ()))


def apps_reached_by_default_grant(*, audience: str, subject_type: str) -> int:
    """Third-party apps that a default grant on ``audience`` for ``subject_type`` reaches today: those
    acting as that subject type (client credentials, or signing users in) with no grant of their own."""
    own = ClientGrant.objects.filter(
        resource_server_id=audience, subject_type=subject_type, client__isnull=False
    ).values("client_id")
    third_party = Application.objects.filter(is_first_party=False).exclude(pk__in=own)
    return _count_using(third_party, GRANT_TYPES_OF[subject_type])


def third_party_sign_in_apps() -> int:
    """Third-party apps that sign users in (authorization code or device flow)."""
    return _count_using(Application.objects.filter(is_first_party=False), GRANT_TYPES_OF[SubjectType.USER])


def connection_users(connection: Connection) -> int:
    """Users belong to exactly one connection (their ``connection``, part of their user_id)."""
    return connection.users.count()


def token_scope(*, applications=None, user=None, audience=None, subject_type=None, organization=None) -> Q:
    """The stored tokens (and codes) matching all the given filters: what ``tokens_revoke`` revokes,
    and what a confirmation counts before it does."""
    condition = Q()
    if organization is not None:
        condition &= Q(organization=organization)
    if subject_type is not None:
        # Client-credentials tokens have no user; user-delegated ones always have one.
        condition &= Q(user__isnull=subject_type == SubjectType.CLIENT)
    if applications is not None:
        condition &= Q(application__in=applications)
    if user is not None:
        condition &= Q(user=user)
    if audience is not None:
        condition &= Q(audience=audience)
    return condition


def live_tokens(**scope) -> int:
    """Live stored tokens within ``token_scope(**scope)``: access tokens, and refresh tokens not
    revoked yet (two statements)."""
    condition = token_scope(**scope)
    return (
        AccessToken.objects.filter(condition).count()
        + RefreshToken.objects.filter(condition, revoked__isnull=True).count()
    )


def third_party_tokens_in_organization(organization) -> int:
    """What blocking ``organization``'s third-party access revokes (``organization_update``): the
    live tokens third-party apps hold for its users there."""
    third_party = Application.objects.filter(is_first_party=False)
    return live_tokens(applications=third_party, organization=organization, subject_type=SubjectType.USER)
