"""The management API refuses a default grant for third-party apps on the system APIs reached on a
user's behalf (the My Organization, My Account and MFA APIs), as on the Management API itself."""

import pytest

from oauthcore.conf import portcullis_settings
from oauthcore.models import ClientGrant
from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db

SYSTEM_APIS = {
    "my-org": (portcullis_settings.my_organization_api_identifier, "read:my_org:details"),
    "me": (portcullis_settings.my_account_api_identifier, "read:me:profile"),
    "mfa": (portcullis_settings.mfa_api_identifier, "read:authenticators"),
}


@pytest.mark.parametrize("subject_type", ["user", "client"])
@pytest.mark.parametrize("name", list(SYSTEM_APIS))
def test_a_default_grant_on_a_system_api_is_a_400(api, name, subject_type):
    audience, scope = SYSTEM_APIS[name]
    body = {"audience": audience, "default_for": "third_party_clients", "scope": [scope], "subject_type": subject_type}
    response = api("create:client_grants").post("/api/v2/client-grants", body, format="json")
    assert_error(response, 400, "invalid_body", "System APIs do not take default grants for third-party applications.")
    assert not ClientGrant.objects.filter(resource_server_id=audience).exists()
