"""The device authorization grant (RFC 8628) end to end: a real device polls over HTTP while a person
types the code at /activate in Chromium, logs in and consents."""

import threading
import time

import pytest
import requests

from consent.models import UserGrant
from oauthcore.constants import AppType, DefaultFor, GrantType, SecurityMode, SubjectType, UserPolicy
from oauthcore.models import DeviceGrant
from oauthcore.services.applications import application_create
from tests.e2e.oauth_helpers import PASSWORD, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

ISSUER = "http://127.0.0.1:8000"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def fast_polling(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "DEVICE_POLL_INTERVAL": 1}


@pytest.fixture
def tv_api(make_api):
    return make_api(
        identifier="https://tv.example.com/",
        name="TV API",
        scopes=[("watch:shows", "Watch shows on your account")],
        user_policy=UserPolicy.REQUIRE_CLIENT_GRANT,
    )


def device_app(actor, **fields):
    fields.setdefault("grant_types", [GrantType.DEVICE_CODE])
    return application_create(actor=actor, name="Living Room TV", app_type=AppType.NATIVE, callbacks=[], **fields)


class PollingDevice(threading.Thread):
    """A device: asks for a code, then polls the token endpoint at the interval it is told."""

    def __init__(self, base_url: str, client_id: str, **params):
        super().__init__(daemon=True)
        self.base_url, self.client_id, self.params = base_url, client_id, params
        self.answers: list[dict] = []
        self.authorization = requests.post(
            f"{base_url}/oauth/device/code", data={"client_id": client_id, **params}, timeout=10
        ).json()

    def poll(self) -> dict:
        response = requests.post(
            f"{self.base_url}/oauth/token",
            data={
                "grant_type": DEVICE_GRANT,
                "device_code": self.authorization["device_code"],
                "client_id": self.client_id,
            },
            timeout=10,
        )
        return {"status": response.status_code, **response.json()}

    def run(self):
        interval = self.authorization["interval"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(interval)
            answer = self.poll()
            self.answers.append(answer)
            if answer.get("error") == "slow_down":
                interval += 5
            elif answer.get("error") != "authorization_pending":
                return


def activate(page, live_server, user_code: str, *, accept: bool):
    page.goto(f"{live_server.url}/activate")
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code").fill(user_code.lower().replace("-", " "))  # as a person might type it
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_text(f"Check that your device shows the code {user_code}").is_visible()
    page.get_by_role("button", name="Accept" if accept else "Decline").click()


def test_a_device_gets_a_token_once_the_user_consents(
    page, artifacts, live_server, actor, alice, tv_api, make_grant, fast_polling
):
    app = device_app(actor, is_first_party=False, third_party_security_mode=SecurityMode.PERMISSIVE).application
    make_grant(tv_api, client=app, scope=["watch:shows"], subject_type=SubjectType.USER)
    device = PollingDevice(live_server.url, app.client_id, scope="watch:shows", resource=tv_api.identifier)
    assert device.authorization["verification_uri"] == f"{ISSUER}/activate"
    user_code = device.authorization["user_code"]
    assert device.authorization["verification_uri_complete"] == f"{ISSUER}/activate?user_code={user_code}"
    assert device.authorization["expires_in"] == 600 and device.authorization["interval"] == 1
    device.start()
    time.sleep(2.5)  # the device polls while the person walks to the browser

    activate(page, live_server, user_code, accept=True)
    assert page.get_by_role("heading", name="Device connected").is_visible()
    page.screenshot(path=str(artifacts / "device-connected.png"))
    device.join(30)

    *waiting, final = device.answers
    assert waiting and all(
        answer == {"status": 400, "error": "authorization_pending", "error_description": answer["error_description"]}
        for answer in waiting
    )
    assert final["status"] == 200 and final["scope"] == "watch:shows" and "refresh_token" not in final
    claims = verify_jwt(live_server.url, final["access_token"], tv_api.identifier, ISSUER)
    assert claims["sub"] == alice.user_id and claims["client_id"] == app.client_id
    # The consent is the same record /authorize keeps: the user sees it at /account/apps.
    assert UserGrant.objects.get(user=alice, client=app).scope == ["watch:shows"]

    again = device.poll()
    assert again["status"] == 400 and again["error"] == "expired_token"  # a device code is used once


def test_declining_tells_the_device_access_denied(page, live_server, actor, alice, tv_api, make_grant, fast_polling):
    app = device_app(actor).application  # first-party
    make_grant(tv_api, client=app, scope=["watch:shows"], subject_type=SubjectType.USER)
    device = PollingDevice(live_server.url, app.client_id, scope="watch:shows", audience=tv_api.identifier)
    device.start()
    activate(page, live_server, device.authorization["user_code"], accept=False)
    assert page.get_by_role("heading", name="Device not connected").is_visible()
    device.join(30)
    assert device.answers[-1]["status"] == 400 and device.answers[-1]["error"] == "access_denied"
    assert not UserGrant.objects.filter(user=alice).exists()


def test_polling_too_fast_is_told_to_slow_down_and_a_stale_code_expires(client, actor, tv_api, make_grant):
    app = device_app(actor).application
    make_grant(tv_api, client=app, scope=["watch:shows"], subject_type=SubjectType.USER)
    code = client.post(
        "/oauth/device/code", {"client_id": app.client_id, "audience": tv_api.identifier, "scope": "watch:shows"}
    ).json()
    poll = {"grant_type": DEVICE_GRANT, "device_code": code["device_code"], "client_id": app.client_id}
    assert client.post("/oauth/token", poll).json()["error"] == "authorization_pending"
    slow = client.post("/oauth/token", poll)
    assert slow.status_code == 400 and slow.json()["error"] == "slow_down"
    assert DeviceGrant.objects.get(device_code=code["device_code"]).interval == 10  # 5 more, for good

    DeviceGrant.objects.filter(device_code=code["device_code"]).update(expires="2000-01-01T00:00:00Z")
    expired = client.post("/oauth/token", poll)
    assert expired.status_code == 400 and expired.json()["error"] == "expired_token"

    other = device_app(actor).application
    stolen = client.post("/oauth/token", {**poll, "client_id": other.client_id})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_strict_third_party_apps_cannot_use_the_device_flow(client, actor, tv_api, make_grant):
    app = device_app(actor, is_first_party=False, grant_types=[GrantType.AUTHORIZATION_CODE]).application
    make_grant(tv_api, default_for=DefaultFor.THIRD_PARTY_CLIENTS, scope=["watch:shows"], subject_type=SubjectType.USER)
    response = client.post("/oauth/device/code", {"client_id": app.client_id, "audience": tv_api.identifier})
    assert response.status_code == 403
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "Grant type 'urn:ietf:params:oauth:grant-type:device_code' not allowed for the client.",
    }
    assert not DeviceGrant.objects.exists()


def test_system_apis_stay_closed_to_third_parties_in_the_device_flow(client, actor):
    from oauthcore.conf import portcullis_settings

    app = device_app(actor, is_first_party=False, third_party_security_mode=SecurityMode.PERMISSIVE).application
    management_api = portcullis_settings.management_api_identifier
    response = client.post("/oauth/device/code", {"client_id": app.client_id, "audience": management_api})
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert response.json()["error_description"] == (
        f'Client "{app.client_id}" is not authorized to access resource server "{management_api}".'
    )


def test_an_unknown_client_or_a_wrong_secret_gets_invalid_client(client, actor, tv_api):
    assert client.post("/oauth/device/code", {"client_id": "nobody"}).status_code == 401
    confidential = device_app(actor, token_endpoint_auth_method="client_secret_post").application
    response = client.post("/oauth/device/code", {"client_id": confidential.client_id, "client_secret": "wrong"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_wrong_user_code_is_a_form_error(client, alice):
    client.force_login(alice)
    response = client.post("/activate", {"user_code": "BCDF-GHJK"})
    assert response.status_code == 400
    assert "That code is not valid or has expired" in response.content.decode()
    assert response["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in response["Content-Security-Policy"]
