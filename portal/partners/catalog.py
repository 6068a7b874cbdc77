"""The API catalog partners browse: the APIs open to third parties, and what an app gets from each.

Nothing here decides access. Each answer is ``oauthcore.policy.decide`` run through
``oauthcore.selectors.standard_decision`` (the access matrix's question), for the partner's app
and for a newly registered app of the portal (the policy as it stands for everyone), on inputs
built by ``oauthcore.decision_inputs``. This module only reads the rows and puts the decisions
into words.
"""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from oauthcore.constants import AppType, CreatedVia, DefaultFor, SubjectType
from oauthcore.decision_inputs import client_facts, target
from oauthcore.models import Application, ClientGrant, ResourceServer, ResourceServerScope
from oauthcore.policy import ClientFacts, Decision, Flow
from oauthcore.selectors import standard_decision
from portal.partners.models import AccessRequest, RequestStatus

# Denials that mean "not for third parties at all", whatever the app does.
CLOSED_REASONS = frozenset({"policy_deny_all", "system_api_third_party"})


@dataclass(frozen=True)
class Access:
    """One decision, ready for a page: allowed or not, the scopes, where they come from, in words."""

    allowed: bool
    scopes: tuple[str, ...]
    source: str  # "own", "default", "policy" (no grant needed) or "" when denied
    reason: str  # the decision's machine-readable reason when denied
    words: str

    @property
    def closed(self) -> bool:
        return self.reason in CLOSED_REASONS


@dataclass
class CatalogEntry:
    api: ResourceServer
    scopes: list[ResourceServerScope]
    policy_user: Access  # what any newly registered web app gets (user-delegated)
    policy_client: Access  # what any newly registered machine-to-machine app gets
    default_scopes: dict[str, list[str]] = field(default_factory=dict)  # subject type -> default permissions
    own_scopes: dict[str, list[str]] = field(default_factory=dict)  # subject type -> the app's own grant
    app_user: Access | None = None
    app_client: Access | None = None
    pending: list[AccessRequest] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.policy_user.closed and self.policy_client.closed


def new_app_facts(app_type: str) -> ClientFacts:
    """A partner app as the portal registers it (strict third party), before it has any grant."""
    application = Application(app_type=app_type, is_first_party=False, created_via=CreatedVia.PORTAL)
    application.apply_creation_defaults()
    return client_facts(application)


def _scopes(decision: Decision) -> tuple[str, ...]:
    return tuple(sorted(decision.scopes))


def _source(decision: Decision, own_grant_id: str | None) -> str:
    if decision.grant_id is None:
        return "policy"
    return "own" if decision.grant_id == own_grant_id else "default"


def _policy_words(decision: Decision, source: str, subject_type: str) -> str:
    scopes = " ".join(_scopes(decision))
    if subject_type == SubjectType.USER:
        if decision.allowed and source == "default":
            return (
                f"Any third-party app may ask users for {scopes} (the default permissions); each user "
                "sees a consent screen and decides. More needs an approved access request."
            )
        if decision.allowed:
            return "Any app may ask users for any of its scopes; each user sees a consent screen and decides."
        if decision.reason in CLOSED_REASONS:
            return "Closed: no third-party app may act for users on this API."
        return (
            "Each app needs an approved access request first; users then see a consent screen for the "
            "scopes granted, and can revoke them at any time."
        )
    if decision.allowed and source == "default":
        return f"Any third-party machine-to-machine app may call it as itself with {scopes or 'no scopes'}."
    if decision.allowed:
        return "Any machine-to-machine app may call it as itself."
    if decision.reason in CLOSED_REASONS:
        return "Closed: no third-party app may call it as itself."
    return "Each app needs an approved access request to call it as itself (client credentials)."


def _app_words(decision: Decision, source: str, subject_type: str) -> str:
    scopes = " ".join(_scopes(decision))
    if decision.allowed:
        through = {"own": "its own grant", "default": "the default permissions"}.get(source, "the API's policy")
        if subject_type == SubjectType.USER:
            return f"Users can allow it {scopes} (through {through})."
        return f"It can get tokens with {scopes or 'no scopes'} (through {through})."
    if decision.reason == "grant_type_not_allowed":
        if subject_type == SubjectType.USER:
            return "Not for this type of app: it does not act for users."
        return "Not for this type of app: only machine-to-machine apps call APIs as themselves."
    if decision.reason in CLOSED_REASONS:
        return "Closed to third-party apps."
    if decision.reason == "nothing_grantable":
        return "Its grant holds no scope of this API yet."
    if decision.reason in {"client_grant_missing", "client_grant_removed"}:
        return "No access yet: request it."
    return decision.description


def _access(decision: Decision, own_grant_id: str | None, subject_type: str, *, for_app: bool) -> Access:
    source = _source(decision, own_grant_id) if decision.allowed else ""
    words = (_app_words if for_app else _policy_words)(decision, source, subject_type)
    return Access(decision.allowed, _scopes(decision), source, "" if decision.allowed else decision.reason, words)


def api_catalog(*, application: Application | None = None) -> list[CatalogEntry]:
    """The APIs open to third parties (not system APIs, not closed to both kinds of access),
    with their scopes, the default permissions and, for ``application``, what it has and asked for.

    Four statements whatever the number of APIs: the APIs, their scopes, the grants (the app's own
    and the defaults), the app's pending requests.
    """
    scopes = Prefetch("scopes", queryset=ResourceServerScope.objects.order_by("value"))
    apis = list(ResourceServer.objects.filter(is_system=False).prefetch_related(scopes).order_by("name"))
    grants = ClientGrant.objects.filter(default_for=DefaultFor.THIRD_PARTY_CLIENTS)
    if application is not None:
        grants = ClientGrant.objects.filter(Q(client=application) | Q(default_for=DefaultFor.THIRD_PARTY_CLIENTS))
    own, defaults = {}, {}
    for grant in grants:
        (defaults if grant.client_id is None else own)[(grant.resource_server_id, grant.subject_type)] = grant
    pending: dict[str, list[AccessRequest]] = {}  # by API primary key
    if application is not None:
        for request in AccessRequest.objects.filter(client=application, status=RequestStatus.PENDING):
            pending.setdefault(request.resource_server_id, []).append(request)

    new_web, new_machine = new_app_facts(AppType.REGULAR_WEB), new_app_facts(AppType.NON_INTERACTIVE)
    app = client_facts(application) if application is not None else None
    entries = []
    for api in apis:
        default_user = defaults.get((api.identifier, SubjectType.USER))
        default_client = defaults.get((api.identifier, SubjectType.CLIENT))
        for_new_web = target(api, own_grant=None, default_grant=default_user)
        for_new_machine = target(api, own_grant=None, default_grant=default_client)
        api_scopes = for_new_web.api.scopes
        entry = CatalogEntry(
            api=api,
            scopes=list(api.scopes.all()),
            policy_user=_access(
                standard_decision(new_web, for_new_web, Flow.AUTHORIZE), None, SubjectType.USER, for_app=False
            ),
            policy_client=_access(
                standard_decision(new_machine, for_new_machine, Flow.CLIENT_CREDENTIALS),
                None,
                SubjectType.CLIENT,
                for_app=False,
            ),
            default_scopes={
                subject: _grant_scopes(grant, api_scopes)
                for subject, grant in ((SubjectType.USER, default_user), (SubjectType.CLIENT, default_client))
                if grant is not None
            },
        )
        if entry.closed:
            continue
        if app is not None:
            for subject, flow in ((SubjectType.USER, Flow.AUTHORIZE), (SubjectType.CLIENT, Flow.CLIENT_CREDENTIALS)):
                own_grant = own.get((api.identifier, subject))
                if own_grant is not None:
                    entry.own_scopes[subject] = _grant_scopes(own_grant, api_scopes)
                found = target(api, own_grant=own_grant, default_grant=defaults.get((api.identifier, subject)))
                decision = standard_decision(app, found, flow)
                access = _access(decision, own_grant and own_grant.id, subject, for_app=True)
                if subject == SubjectType.USER:
                    entry.app_user = access
                else:
                    entry.app_client = access
            entry.pending = pending.get(api.pk, [])
        entries.append(entry)
    return entries


def _grant_scopes(grant: ClientGrant, api_scopes: frozenset[str]) -> list[str]:
    return sorted(api_scopes) if grant.allow_all_scopes else sorted(grant.scope)
