"""The load: concurrent clients mixing token, introspection, authorize (login, consent, code
exchange) and management API calls, each outcome timed, and a ledger of every write the server
acknowledged (a registration, a client grant, a consent)."""

import base64
import hashlib
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TIMEOUT = 10
VERIFIER = "soak-verifier-" + "s" * 40
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
CALLBACK = "http://127.0.0.1:9/callback"  # never followed: the code is read from the Location header
WEIGHTS = {"token": 30, "introspect": 20, "authorize": 25, "management": 25}


@dataclass
class Outcome:
    kind: str
    started: float
    elapsed: float
    status: int | None  # None: no HTTP answer
    error: str = ""  # "" when the answer was the expected one
    detail: str = ""  # for a failure without an answer: the request and what the connection raised

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class Tenant:
    """What the load runs against (made by the runner through the services)."""

    base_url: str
    audience: str
    api_client: tuple[str, str]
    machines: list[tuple[str, str]]
    partners: list[tuple[str, str]]
    users: list[tuple[str, str]]
    management: tuple[str, str]
    management_audience: str


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    clients: list[str] = field(default_factory=list)  # acknowledged registrations (201)
    client_attempts: list[str] = field(default_factory=list)  # every name a registration was tried with
    grants: list[str] = field(default_factory=list)  # acknowledged client grants (201)
    consents: list[tuple[str, str, frozenset]] = field(default_factory=list)  # (username, client_id, scopes)

    def add(self, name: str, value) -> None:
        with self.lock:
            getattr(self, name).append(value)


class Load:
    def __init__(self, tenant: Tenant, clients: int):
        self.tenant = tenant
        self.clients = clients
        self.outcomes: list[Outcome] = []
        self.ledger = Ledger()
        self.stop = threading.Event()
        self._lock = threading.Lock()

    # -- running -----------------------------------------------------------------------------------

    def run(self, seconds: float) -> None:
        threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(TIMEOUT + 5)

    def client(self, n: int) -> None:
        # Ramp up over a few seconds: 50 password checks at once would only measure the hasher.
        self.stop.wait(n * 0.1)
        state = ClientState(n, requests.Session(), random.Random(n))
        kinds, weights = zip(*WEIGHTS.items(), strict=True)
        while not self.stop.is_set():
            kind = state.rng.choices(kinds, weights)[0]
            try:
                getattr(self, f"do_{kind}")(state)
            except _Abandon:
                time.sleep(0.2)  # a failed step ends the scenario; the next one starts over

    def record(
        self, kind: str, started: float, response, expected: tuple[int, ...], error: str = "", detail: str = ""
    ) -> None:
        elapsed = time.time() - started
        status = getattr(response, "status_code", None)
        if not error and status not in expected:
            error = classify(response)
        with self._lock:
            self.outcomes.append(Outcome(kind, started, elapsed, status, error, detail))
        if error:
            raise _Abandon

    def call(self, kind: str, session, method: str, url: str, expected=(200,), **kwargs):
        started = time.time()
        try:
            response = session.request(method, self.tenant.base_url + url, timeout=TIMEOUT, **kwargs)
        except requests.Timeout:
            self.record(kind, started, None, expected, "timeout")
        except requests.ConnectionError as exc:
            # What was raised tells a refused connection from a reset or a close without an answer.
            detail = f"{method} {url.split('?')[0]}: {exc}"
            self.record(kind, started, None, expected, "connection refused or reset", detail)
        self.record(kind, started, response, expected)
        return response

    # -- scenarios ---------------------------------------------------------------------------------

    def do_token(self, state) -> str:
        client_id, secret = self.tenant.machines[state.n % len(self.tenant.machines)]
        data = {"grant_type": "client_credentials", "audience": self.tenant.audience}
        response = self.call("token", state.session, "POST", "/oauth/token", data=data, auth=(client_id, secret))
        state.token = response.json()["access_token"]
        return state.token

    def do_introspect(self, state) -> None:
        token = state.token or self.do_token(state)
        response = self.call(
            "introspect", state.session, "POST", "/oauth/introspect", data={"token": token}, auth=self.tenant.api_client
        )
        if response.json().get("active") is not True:
            self.record("introspect", time.time(), response, (), "token reported inactive")

    def do_authorize(self, state) -> None:
        username, password = self.tenant.users[state.n % len(self.tenant.users)]
        if not state.signed_in:
            page = self.call("login", state.session, "GET", "/login")
            data = {"csrfmiddlewaretoken": csrf(page), "username": username, "password": password}
            self.call("login", state.session, "POST", "/login", (302,), data=data, allow_redirects=False)
            state.signed_in = True
        client_id, secret = self.tenant.partners[state.rng.randrange(len(self.tenant.partners))]
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "scope": "read:soak",
                "audience": self.tenant.audience,
                "state": f"s{state.n}",
                "code_challenge": CHALLENGE,
                "code_challenge_method": "S256",
                **({"prompt": "consent"} if state.rng.random() < 0.3 else {}),
            }
        )
        response = self.call(
            "authorize", state.session, "GET", f"/authorize?{query}", (200, 302), allow_redirects=False
        )
        if response.status_code == 200:  # the consent screen
            data = {"csrfmiddlewaretoken": csrf(response), "decision": "accept", "scope": ["read:soak"]}
            response = self.call(
                "consent",
                state.session,
                "POST",
                f"/authorize?{query}",
                (302,),
                data=data,
                allow_redirects=False,
                headers={"Referer": f"{self.tenant.base_url}/authorize"},
            )
            code = code_of(response)
            if code:  # acknowledged: the consent is stored
                self.ledger.add("consents", (username, client_id, frozenset({"read:soak"})))
        code = code_of(response)
        if not code:
            self.record("authorize", time.time(), response, (), "no code in the redirect")
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": VERIFIER,
            "client_id": client_id,
            "client_secret": secret,
        }
        self.call("code exchange", state.session, "POST", "/oauth/token", data=exchange)

    def do_management(self, state) -> None:
        if not state.management_token:
            client_id, secret = self.tenant.management
            data = {"grant_type": "client_credentials", "audience": self.tenant.management_audience}
            response = self.call("token", state.session, "POST", "/oauth/token", data=data, auth=(client_id, secret))
            state.management_token = response.json()["access_token"]
        bearer = {"Authorization": f"Bearer {state.management_token}"}
        choice = state.rng.random()
        if choice < 0.5:
            state.created += 1
            name = f"soak-{state.n}-{state.created}"
            self.ledger.add("client_attempts", name)
            body = {"name": name, "app_type": "non_interactive", "grant_types": ["client_credentials"]}
            response = self.call(
                "management", state.session, "POST", "/api/v2/clients", (201,), json=body, headers=bearer
            )
            client_id = response.json()["client_id"]
            self.ledger.add("clients", client_id)
            grant = {"client_id": client_id, "audience": self.tenant.audience, "scope": ["read:soak"]}
            response = self.call(
                "management", state.session, "POST", "/api/v2/client-grants", (201,), json=grant, headers=bearer
            )
            self.ledger.add("grants", response.json()["id"])
        else:
            self.call(
                "management", state.session, "GET", "/api/v2/clients?per_page=5&include_totals=true", headers=bearer
            )

    # -- reading the outcomes ----------------------------------------------------------------------

    def served(self) -> Counter:
        return Counter(outcome.kind for outcome in self.outcomes if outcome.status is not None)

    def errors(self, outcomes=None) -> Counter:
        return Counter((o.kind, o.error) for o in (self.outcomes if outcomes is None else outcomes) if not o.ok)


def load_with_faults(tenant, clients: int, seconds: float, faults, *, join_timeout: float) -> "Load":
    """Run ``clients`` for ``seconds`` while ``faults.run`` injects its faults in a thread of its
    own; the finished load, its ledger ready to check."""
    load = Load(tenant, clients)
    injector = threading.Thread(target=faults.run, daemon=True)
    injector.start()
    load.run(seconds)
    injector.join(join_timeout)
    return load


@dataclass
class ClientState:
    n: int
    session: requests.Session
    rng: random.Random
    token: str = ""
    management_token: str = ""
    signed_in: bool = False
    created: int = 0


class _Abandon(Exception):
    """A step failed (recorded already): give up this scenario."""


def classify(response) -> str:
    if response is None:
        return "no answer"
    status = response.status_code
    if status == 503:
        is_json = response.headers.get("Content-Type", "").startswith("application/json")
        return "503 JSON (database unavailable)" if is_json else "503 not JSON"
    return f"{status} {'server error' if status >= 500 else 'refused'}"


def describe_failures(outcomes) -> list[str]:
    """One line per request that failed without an answer, other than a timeout: when it started
    (wall clock, to find it in the balancer's log), how long it took, what was sent, what was raised."""
    lines = []
    unanswered = [o for o in outcomes if o.status is None and o.error and o.error != "timeout"]
    for o in sorted(unanswered, key=lambda o: o.started):
        stamp = time.strftime("%H:%M:%S", time.localtime(o.started)) + f".{int(o.started % 1 * 1000):03d}"
        lines.append(f"  {stamp} +{o.elapsed:.3f} s  {o.kind:<14} {o.detail}")
    return lines


def csrf(response) -> str:
    match = CSRF_RE.search(response.text)
    if not match:
        raise _Abandon
    return match.group(1)


def code_of(response) -> str:
    location = response.headers.get("Location", "")
    return parse_qs(urlsplit(location).query).get("code", [""])[0] if location.startswith(CALLBACK) else ""
