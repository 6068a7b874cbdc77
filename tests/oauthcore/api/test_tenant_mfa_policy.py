"""The tenant's MFA policy in the Management API's tenant settings (``mfa_policy``)."""

import pytest

from oauthcore.models import AuditEvent, TenantSettings
from tests.oauthcore.api.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api):
    return api("read:tenant_settings", "update:tenant_settings")


def test_the_mfa_policy_is_read_and_set_with_the_tenant_settings(admin):
    assert admin.get("/api/v2/tenants/settings").json()["mfa_policy"] == "optional"
    updated = admin.patch("/api/v2/tenants/settings", {"mfa_policy": "always"}, format="json")
    assert updated.status_code == 200 and updated.json()["mfa_policy"] == "always"
    assert TenantSettings.load().mfa_policy == "always"
    assert AuditEvent.objects.filter(action="tenant_settings.update", data__fields=["mfa_policy"]).exists()


def test_an_unknown_mfa_policy_is_a_field_error_and_changes_nothing(admin):
    body = assert_error(
        admin.patch("/api/v2/tenants/settings", {"mfa_policy": "sometimes"}, format="json"), 400, "invalid_body"
    )
    assert "mfa_policy" in body["message"]
    assert TenantSettings.load().mfa_policy == "optional"
