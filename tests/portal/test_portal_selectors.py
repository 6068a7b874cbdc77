"""Who is told about partners' requests: the staff who can act on them, and the support address."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from oauthcore.services.tenant import tenant_settings_update
from portal.partners.models import Role
from portal.partners.selectors import partner_manager_addresses, tenant_admin_addresses
from portal.partners.services.memberships import membership_set_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


def test_tenant_admins_are_the_staff_who_can_decide_and_the_support_address(actor):
    User = get_user_model()
    User.objects.create_superuser("root", "Root@Tenant.example", "x")
    User.objects.create_user("reviewer", "reviewer@tenant.example", is_staff=True).user_permissions.add(
        Permission.objects.get(codename="change_accessrequest")
    )
    group = Group.objects.create(name="Partner managers")
    group.permissions.add(Permission.objects.get(codename="change_accessrequest"))
    User.objects.create_user("grouped", "grouped@tenant.example", is_staff=True).groups.add(group)
    User.objects.create_user("clerk", "clerk@tenant.example", is_staff=True)  # staff, but may not decide
    User.objects.create_superuser("gone", "gone@tenant.example", "x", is_active=False)
    User.objects.create_superuser("nomail", "", "x")
    User.objects.create_user("partner", "partner@acme.example")  # not staff at all
    assert tenant_admin_addresses() == [
        "Root@tenant.example",
        "grouped@tenant.example",
        "reviewer@tenant.example",
    ]
    tenant_settings_update(actor=actor, support_email="root@tenant.example")  # the same address, once
    assert tenant_admin_addresses() == ["Root@tenant.example", "grouped@tenant.example", "reviewer@tenant.example"]
    tenant_settings_update(actor=actor, support_email="partners@tenant.example")
    assert "partners@tenant.example" in tenant_admin_addresses()
    assert "reviewer@tenant.example" not in tenant_admin_addresses("portal.change_partner")


def test_partner_managers_are_its_owners_and_admins_plus_whoever_asked(acme, actor):
    assert partner_manager_addresses(acme.partner) == ["acme-admin@example.com", "acme-owner@example.com"]
    assert partner_manager_addresses(acme.partner, also=acme.developer) == [
        "acme-admin@example.com",
        "acme-dev@example.com",
        "acme-owner@example.com",
    ]
    membership_set_role(actor=actor, membership=acme.membership(acme.admin), role=Role.DEVELOPER)
    assert partner_manager_addresses(acme.partner) == ["acme-owner@example.com"]
