"""Memberships: a partner's members and their roles, inline on the partner's page and on their own."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, adopt, service_errors_to_form
from portal.partners.models import PartnerMembership, Role
from portal.partners.services.memberships import membership_add, membership_remove, membership_set_role


class MembershipFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        roles = [
            form.cleaned_data.get("role")
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not self._should_delete_form(form)
        ]
        had_owner = any(form.initial.get("role") == Role.OWNER for form in self.initial_forms)
        if had_owner and Role.OWNER not in roles:
            raise ValidationError("A partner keeps at least one owner.")


class MembershipInline(admin.TabularInline):
    model = PartnerMembership
    formset = MembershipFormSet
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


def save_membership(actor, membership: PartnerMembership, *, changed=(), deleted=False) -> None:
    if deleted:
        membership_remove(actor=actor, membership=membership)
    elif "role" in changed:
        membership_set_role(actor=actor, membership=membership, role=membership.role)


class MembershipForm(ServiceModelForm):
    class Meta:
        model = PartnerMembership
        fields = ["partner", "user", "role"]


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = MembershipForm
    list_display = ("user", "partner", "role", "created_at")
    list_select_related = ("user", "partner")
    list_filter = ("role",)
    search_fields = ("partner__name", "user__username", "user__email")
    autocomplete_fields = ("partner", "user")

    def get_readonly_fields(self, request, obj=None):
        return ("partner", "user", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        with service_errors_to_form():
            if change:
                save_membership(self.actor(request), obj, changed=form.changed_data)
                return
            data = form.cleaned_data
            created = membership_add(
                actor=self.actor(request), partner=data["partner"], user=data["user"], role=data["role"]
            )
        adopt(obj, created)

    def delete_model(self, request, obj):
        save_membership(self.actor(request), obj, deleted=True)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset.select_related("partner"), lambda m: self.delete_model(request, m))
