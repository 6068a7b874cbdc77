"""``python -m tests.bench.cpu_breakdown``: where a token request's CPU goes, in one process.

``make bench`` measures whole servers; this measures variants of one request against each other,
in one Python process, alternating request by request so that a machine whose speed drifts slows
every variant alike (each figure: the thread's CPU time per request, the mean over ``--requests``):

- client credentials (a strict third-party app, Redis as the cache) through Django's whole stack,
  as the servers run it; through a handler keeping only the middleware the token endpoint needs,
  without URL resolution (the "trimmed handler", an option measured and not used); the short path
  (``plain_client_credentials``) called without Django's request cycle; the RSA-2048 signature alone;
- the authorization code exchange with its access token stored, as today, and not stored (the
  row's INSERT left out: what a stateless user token would save), with the CPU of the PostgreSQL
  process serving the connection.

It drops and creates the database ``portcullis_bench_cpu`` on ``--database-server``, migrates it
and makes the benchmark's tenant there (``tests/bench/portcullis_fixtures.py``); Redis database 13
of 127.0.0.1 serves as the cache (``--cache-url``).
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))
DATABASE = "portcullis_bench_cpu"
FORM = "application/x-www-form-urlencoded"
# The middleware a token request's answer depends on: its headers, the outage and request-guard
# answers, the error pages. Sessions, CSRF (the endpoint is exempt), users, messages, htmx and
# static files play no part in it.
TOKEN_ENDPOINT_MIDDLEWARE = ("security", "unavailable", "request_guard", "common", "clickjacking", "csp", "error")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="client-credentials requests per variant")
    parser.add_argument("--exchanges", type=int, default=2000, help="code exchanges per variant")
    parser.add_argument("--database-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the tenant's JSON file: measure in this process
    return parser.parse_args()


def environment(args) -> dict[str, str]:
    from tests.bench.machine import database_url
    from tests.bench.servers import portcullis_environment

    settings = portcullis_environment(
        database_url(args.database_server, DATABASE),
        secret_key="cpu-breakdown-" + os.urandom(24).hex(),
        issuer="http://127.0.0.1:18950",
        cache_url=args.cache_url,
    )
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **settings}


def prepare(args) -> int:
    """The database and the tenant; then the measurement, in a process with their environment."""
    from tests.bench.machine import log, recreate_database

    recreate_database(args.database_server, DATABASE)
    env = environment(args)
    run = {"cwd": PROJECT, "env": env, "check": True}
    log(f"Preparing {DATABASE}")
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], **run)
    fixtures = [sys.executable, "tests/bench/portcullis_fixtures.py"]
    tenant = subprocess.run([*fixtures, "tenant"], capture_output=True, text=True, **run).stdout
    with tempfile.TemporaryDirectory(prefix="portcullis-cpu-") as folder:
        tenant_file = Path(folder) / "tenant.json"
        tenant_file.write_text(tenant)
        count = str(args.exchanges * 2 + 100)
        first_code = json.loads(tenant)["first_code"]
        subprocess.run([*fixtures, "codes", str(tenant_file.with_suffix(".codes")), count, first_code], **run)
        return subprocess.run(
            [sys.executable, "-m", "tests.bench.cpu_breakdown", "--measure", str(tenant_file), *sys.argv[1:]],
            cwd=PROJECT,
            env=env,
            check=False,
        ).returncode


# -- in the measuring process -------------------------------------------------------------------------


def form_request(path: str, fields: dict, authorization: str | None = None) -> dict:
    body = urlencode(fields).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "18950",
        "HTTP_HOST": "127.0.0.1:18950",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": FORM,
    }
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    return environ


def call(application, environ: dict) -> str:
    """``application``'s status line for ``environ``, its body read and closed as a server does."""
    answer = []
    result = application(environ, lambda status, headers, exc_info=None: answer.append(status))
    try:
        b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return answer[0]


def token_variants() -> dict:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
    from django.test.utils import override_settings

    from oauthcore.views.client_credentials import plain_client_credentials

    class TrimmedHandler(WSGIHandler):
        def _get_response(self, request):
            return plain_client_credentials(request) or super()._get_response(request)

    kept = [path for path in settings.MIDDLEWARE if any(name in path for name in TOKEN_ENDPOINT_MIDDLEWARE)]
    with override_settings(MIDDLEWARE=kept):
        trimmed = TrimmedHandler()

    def short_path_alone(environ, start_response):
        response = plain_client_credentials(WSGIRequest(environ))
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]

    return {
        "through Django's whole stack": WSGIHandler(),
        "trimmed handler (endpoint's middleware, no URL resolution)": trimmed,
        "the short path alone (no request cycle)": short_path_alone,
    }


def measure_tokens(tenant: dict, count: int) -> None:
    import base64

    client = tenant["strict_m2m"]
    basic = "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    fields = {"grant_type": "client_credentials", "audience": tenant["api"]}
    variants = token_variants()
    for name, application in variants.items():  # warm: the client, the key, the prepared statements
        for _ in range(50):
            status = call(application, form_request("/oauth/token", fields, basic))
        if not status.startswith("200"):
            raise SystemExit(f"{name}: {status}")
    spent = dict.fromkeys(variants, 0)
    for _ in range(count):
        for name, application in variants.items():
            started = time.thread_time_ns()
            call(application, form_request("/oauth/token", fields, basic))
            spent[name] += time.thread_time_ns() - started
    print(f"Client credentials, strict third-party app: CPU per request, {count} requests each")
    for name, nanoseconds in spent.items():
        print(f"  {name:<62} {nanoseconds / count / 1e6:6.3f} ms")
    print(f"  {'of which the RSA-2048 signature (signed alone)':<62} {signature_ms(count):6.3f} ms")


def signature_ms(count: int) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    started = time.thread_time_ns()
    for _ in range(count):
        key.sign(b"x" * 300, padding.PKCS1v15(), hashes.SHA256())
    return (time.thread_time_ns() - started) / count / 1e6


def backend_cpu_seconds() -> float:
    """CPU used so far by the PostgreSQL process serving this thread's connection."""
    from django.db import connection

    from tests.bench.machine import cpu_seconds

    connection.ensure_connection()
    return cpu_seconds([connection.connection.info.backend_pid])


def measure_exchanges(tenant: dict, codes: list[str], count: int) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from oauth2_provider.models import get_access_token_model

    from oauthcore.validator import PolicyValidator

    store = [True]
    create = PolicyValidator._create_access_token

    def access_token(self, expires, request, token, source_refresh_token=None):
        if store[0]:
            return create(self, expires, request, token, source_refresh_token)
        # The same token, not saved: what the exchange would cost if user tokens were not stored.
        fields = {"scope": token["scope"], "expires": expires, "token": token["access_token"]}
        return get_access_token_model()(user=request.user, application=request.client, **fields)

    PolicyValidator._create_access_token = access_token
    handler, web = WSGIHandler(), tenant["web"]
    fields = {
        "grant_type": "authorization_code",
        "redirect_uri": tenant["callback"],
        "client_id": web["client_id"],
        "client_secret": web["client_secret"],
        "code_verifier": tenant["code_verifier"],
    }
    spent = {True: [0, 0.0], False: [0, 0.0]}  # Python CPU (ns), PostgreSQL CPU (s)
    for n, code in enumerate(codes[: 2 * count + 100]):
        store[0] = n % 2 == 0
        database_before, started = backend_cpu_seconds(), time.thread_time_ns()
        status = call(handler, form_request("/oauth/token", {**fields, "code": code}))
        python_ns, database_s = time.thread_time_ns() - started, backend_cpu_seconds() - database_before
        if not status.startswith("200"):
            raise SystemExit(f"code exchange: {status}")
        if n >= 100:  # after the warm-up
            spent[store[0]][0] += python_ns
            spent[store[0]][1] += database_s
    print(f"Authorization code exchange (PKCE, strict app): CPU per exchange, {count} exchanges each")
    for stored, label in ((True, "access token stored (as today)"), (False, "access token not stored")):
        python_ms, database_ms = spent[stored][0] / count / 1e6, spent[stored][1] / count * 1000
        print(f"  {label:<32} {python_ms:6.2f} ms Python + {database_ms:5.2f} ms PostgreSQL")


def measure(args) -> int:
    import django

    django.setup()
    tenant_file = Path(args.measure)
    tenant = json.loads(tenant_file.read_text())
    codes = tenant_file.with_suffix(".codes").read_text().split()
    measure_tokens(tenant, args.requests)
    measure_exchanges(tenant, codes, args.exchanges)
    return 0


def main() -> int:
    args = parse_args()
    return measure(args) if args.measure else prepare(args)


if __name__ == "__main__":
    sys.exit(main())
