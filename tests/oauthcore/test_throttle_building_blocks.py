"""The rate-limit building blocks the registration and sign-up endpoints will use, applied to
views here exactly as those endpoints will apply them."""

import json

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from oauthcore.throttle import REGISTRATION, SIGNUP, client_address, rate_limited, retry_message, too_many_requests_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.PORTCULLIS = {**settings.PORTCULLIS, "RATE_LIMITS": {"registration": "2/h", "signup": "1/h"}}


@rate_limited(REGISTRATION)
def register(request):
    return JsonResponse({"client_id": "new"}, status=201)


@rate_limited(SIGNUP, respond=too_many_requests_page)
def sign_up(request):
    return HttpResponse("welcome", status=302 if request.method == "POST" else 200)


def post(view, address: str, method: str = "post"):
    request = getattr(RequestFactory(), method)("/x", REMOTE_ADDR=address)
    return view(request)


def test_registration_is_limited_per_address_with_the_oauth_error_shape(limits):
    assert [post(register, "192.0.2.1").status_code for _ in range(2)] == [201, 201]
    refused = post(register, "192.0.2.1")
    retry_after = int(refused["Retry-After"])  # the rest of the hour's window
    assert refused.status_code == 429 and 1 <= retry_after <= 3600
    body = json.loads(refused.content)
    assert body == {"error": "too_many_requests", "error_description": retry_message(retry_after)}
    assert post(register, "192.0.2.2").status_code == 201  # another address


def test_sign_up_is_limited_with_a_page_and_only_on_posts(limits):
    assert post(sign_up, "192.0.2.3").status_code == 302
    assert post(sign_up, "192.0.2.3", "get").status_code == 200  # showing the form is never limited
    refused = post(sign_up, "192.0.2.3")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"Too many attempts" in refused.content
    assert retry_message(int(refused["Retry-After"])).encode() in refused.content


def test_the_defaults_apply_without_settings():
    assert str(REGISTRATION.rate) == "10/3600s" and str(SIGNUP.rate) == "5/3600s"


def test_client_address_ignores_forwarded_headers_unless_a_proxy_is_trusted(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_address(request) == "10.0.0.1"
    settings.PORTCULLIS = {**settings.PORTCULLIS, "TRUSTED_PROXY_HOPS": 1}
    assert client_address(request) == "6.6.6.6"
