"""Partners, their teams, and their requests for API access (approved or rejected here)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse

from oauthcore.admin.applications import ApplicationAdmin, ApplicationForm
from oauthcore.admin.base import (
    ReadOnlyAdminMixin,
    ServiceAdminMixin,
    ServiceModelForm,
    TokenCascadeMixin,
    adopt,
    service_errors_to_form,
)
from oauthcore.admin.client_grants import scope_summary
from oauthcore.models import Application
from portal.partners.models import (
    AccessRequest,
    Invitation,
    OutboundEmail,
    Partner,
    PartnerApplication,
    PartnerMembership,
    RequestStatus,
    Role,
)
from portal.partners.services.access_requests import (
    DRAFT_FIELDS,
    access_request_approve,
    access_request_reject,
    access_request_save_draft,
)
from portal.partners.services.apps import partner_application_create
from portal.partners.services.invitations import invitation_revoke
from portal.partners.services.memberships import membership_add, membership_remove, membership_set_role
from portal.partners.services.partners import partner_create, partner_delete, partner_set_status, partner_update

# -- partners and their members ----------------------------------------------------------------------------


class PartnerForm(ServiceModelForm):
    website = forms.URLField(max_length=200, required=False, assume_scheme="https")
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.all(),
        required=False,
        widget=AutocompleteSelect(PartnerMembership._meta.get_field("user"), admin.site),
        help_text="The partner's first member, with the owner role.",
    )

    class Meta:
        model = Partner
        fields = ["name", "website", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "owner" in self.fields and self.instance._state.adding:
            self.fields["owner"].required = True


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


@admin.register(Partner)
class PartnerAdmin(TokenCascadeMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = PartnerForm
    list_display = ("name", "status", "website", "member_count", "application_count", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "website")
    actions = ("activate", "suspend", "delete_selected")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "website", "owner")
        return ("name", "website", "status", "email_verified_at", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("email_verified_at", "created_at") if obj is not None else ()

    def get_inlines(self, request, obj):
        return [MembershipInline] if obj is not None else []

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("memberships", distinct=True), application_total=Count("applications", distinct=True)
            )
        )

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description="applications", ordering="application_total")
    def application_count(self, obj):
        return obj.application_total

    def save_model(self, request, obj, form, change):
        data, actor = form.cleaned_data, self.actor(request)
        with service_errors_to_form():
            if not change:
                adopt(obj, partner_create(actor=actor, name=data["name"], website=data["website"], owner=data["owner"]))
                return
            details = {name: data[name] for name in form.changed_data if name in ("name", "website")}
            if details:
                partner_update(actor=actor, partner=obj, **details)
            if "status" in form.changed_data:
                partner_set_status(actor=actor, partner=obj, status=data["status"])

    def save_formset(self, request, form, formset, change):
        if formset.model is not PartnerMembership:  # pragma: no cover - no other inline
            return super().save_formset(request, form, formset, change)
        actor = self.actor(request)
        formset.save(commit=False)
        with service_errors_to_form():
            for membership in formset.deleted_objects:
                save_membership(actor, membership, deleted=True)
            for membership, changed in formset.changed_objects:
                save_membership(actor, membership, changed=changed)
            for membership in formset.new_objects:
                adopt(
                    membership,
                    membership_add(actor=actor, partner=form.instance, user=membership.user, role=membership.role),
                )
        return None

    def delete_model(self, request, obj):
        partner_delete(actor=self.actor(request), partner=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda partner: self.delete_model(request, partner))

    def _set_status(self, request, queryset, status) -> None:
        changed = 0
        for partner in queryset.exclude(status=status):
            partner_set_status(actor=self.actor(request), partner=partner, status=status)
            changed += 1
        self.message_user(request, f"{changed} partner(s) now {status}.", messages.SUCCESS)

    @admin.action(description="Activate selected partners", permissions=["change"])
    def activate(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.ACTIVE)

    @admin.action(description="Suspend selected partners", permissions=["change"])
    def suspend(self, request, queryset):
        self._set_status(request, queryset, Partner.Status.SUSPENDED)


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


# -- access requests -------------------------------------------------------------------------------------------

DECISIONS = {"_approve": "approve", "_reject": "reject"}
REQUEST_FIELDS = (
    "partner",
    "client",
    "resource_server",
    "subject_type",
    "requested_scope",
    "justification",
    "requested_by",
    "created_at",
)


class AccessRequestForm(ServiceModelForm):
    """The tenant admin's decision: which of the requested scopes to grant, and why."""

    decision = None  # "approve", "reject" or None (save the draft)
    granted_scope = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Scopes to grant",
        help_text="Uncheck scopes to approve less than was asked for.",
    )

    class Meta:
        model = AccessRequest
        fields = ["granted_scope", "decision_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "granted_scope" in self.fields:
            requested = self.instance.scope or []
            self.fields["granted_scope"].choices = [(value, value) for value in requested]
            if not self.instance.granted_scope:
                self.initial["granted_scope"] = list(requested)

    def clean(self):
        cleaned_data = super().clean()
        if self.decision is None:
            return cleaned_data
        if self.instance.status != RequestStatus.PENDING:
            raise ValidationError(f"This request was already {self.instance.status}.")
        if self.decision == "reject" and not (cleaned_data.get("decision_reason") or "").strip():
            self.add_error("decision_reason", "Give the partner a reason for the rejection.")
        if self.decision == "approve" and self.instance.scope and not cleaned_data.get("granted_scope"):
            self.add_error("granted_scope", "Approve at least one scope, or reject the request.")
        return cleaned_data


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        strip=True,
        help_text="Shown to the partner.",
    )


@admin.register(AccessRequest)
class AccessRequestAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = AccessRequestForm
    change_form_template = "admin/portal/accessrequest/change_form.html"
    list_display = (
        "client",
        "partner",
        "resource_server",
        "subject_type",
        "scope_display",
        "status",
        "requested_by",
        "created_at",
        "decided_by",
    )
    list_select_related = ("client", "partner", "resource_server", "requested_by", "decided_by")
    list_filter = ("status", "subject_type", "resource_server")
    search_fields = (
        "partner__name",
        "client__name",
        "client__client_id",
        "resource_server__identifier",
        "resource_server__name",
        "justification",
    )
    date_hierarchy = "created_at"
    actions = ("approve_selected", "reject_selected")
    fieldsets = (
        ("Request", {"fields": REQUEST_FIELDS}),
        ("Decision", {"fields": ("status", "granted_scope", "decision_reason", "decided_by", "decided_at")}),
    )
    request_fields = (*REQUEST_FIELDS, "status", "decided_by", "decided_at")

    def has_add_permission(self, request):
        return False  # partners ask; the tenant admin decides

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != RequestStatus.PENDING:
            return (*self.request_fields, "granted_scope", "decision_reason")
        return self.request_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        decision = next((DECISIONS[key] for key in DECISIONS if key in request.POST), None)
        return type(form_class.__name__, (form_class,), {"decision": decision})

    @admin.display(description="scope")
    def scope_display(self, obj):
        return scope_summary(obj.scope)

    @admin.display(description="requested scopes")
    def requested_scope(self, obj):
        return " ".join(obj.scope) or "—"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_decide"] = (
            obj is not None and obj.status == RequestStatus.PENDING and self.has_change_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with service_errors_to_form():
            if form.decision == "approve":
                access_request_approve(
                    actor=self.actor(request),
                    request=obj,
                    decided_by=request.user,
                    scope=list(data["granted_scope"]) if obj.scope else None,
                    reason=data["decision_reason"],
                )
            elif form.decision == "reject":
                access_request_reject(
                    actor=self.actor(request), request=obj, reason=data["decision_reason"], decided_by=request.user
                )
            else:
                draft = {name: data[name] for name in DRAFT_FIELDS if name in form.fields}
                if draft:  # a decided request shows them read-only
                    access_request_save_draft(actor=self.actor(request), request=obj, **draft)
                return
        obj.refresh_from_db()

    def response_change(self, request, obj):
        if obj.status != RequestStatus.PENDING and any(key in request.POST for key in DECISIONS):
            if obj.status == RequestStatus.APPROVED:
                message = (
                    f"Approved: {obj.client} may now reach {obj.resource_server.identifier} "
                    f"with {' '.join(obj.granted_scope) or 'no scopes'}."
                )
            else:
                message = f"Rejected the request of {obj.client}."
            self.message_user(request, message, messages.SUCCESS)
            return self.response_post_save_change(request, obj)
        return super().response_change(request, obj)

    # -- actions -------------------------------------------------------------------------------------------

    @admin.action(
        description="Approve selected requests (with their granted scopes, or all requested)", permissions=["change"]
    )
    def approve_selected(self, request, queryset):
        approved = 0
        for access_request in queryset.filter(status=RequestStatus.PENDING):
            try:
                access_request_approve(
                    actor=self.actor(request),
                    request=access_request,
                    decided_by=request.user,
                    scope=access_request.granted_scope or None,
                    reason=access_request.decision_reason,
                )
            except ValidationError as exc:
                self.message_user(request, f"{access_request}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                approved += 1
        self.message_user(
            request, f"Approved {approved} request(s); their client grants were created or widened.", messages.SUCCESS
        )

    @admin.action(description="Reject selected requests…", permissions=["change"])
    def reject_selected(self, request, queryset):
        pending = queryset.filter(status=RequestStatus.PENDING).select_related("client", "resource_server")
        if "post" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                rejected = 0
                for access_request in pending:
                    try:
                        access_request_reject(
                            actor=self.actor(request),
                            request=access_request,
                            reason=form.cleaned_data["reason"],
                            decided_by=request.user,
                        )
                    except ValidationError as exc:
                        self.message_user(request, f"{access_request}: {' '.join(exc.messages)}", messages.ERROR)
                    else:
                        rejected += 1
                self.message_user(request, f"Rejected {rejected} request(s).", messages.SUCCESS)
                return None
        else:
            reasons = {r.decision_reason for r in pending if r.decision_reason}
            form = RejectForm(initial={"reason": reasons.pop() if len(reasons) == 1 else ""})
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject access requests",
            "opts": self.opts,
            "form": form,
            "queryset": pending,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/portal/accessrequest/reject_selected.html", context)


# -- invitations ---------------------------------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Partners invite their colleagues in the portal; here tenant admins see them and may revoke one."""

    list_display = ("email", "partner", "role", "invited_by", "created_at", "expires_at", "accepted_at")
    list_select_related = ("partner", "invited_by")
    list_filter = ("role", ("accepted_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "partner__name")
    fields = ("partner", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "accepted_by")
    readonly_fields = fields
    deletable = True

    def delete_model(self, request, obj):
        invitation_revoke(actor=self.actor(request), invitation=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset.select_related("partner"), lambda i: self.delete_model(request, i))


# -- outgoing email ------------------------------------------------------------------------------------------


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What Portcullis has sent or still has to send; written only by portal.partners.outbox."""

    list_display = ("created_at", "kind", "recipients", "subject", "sent_at", "attempts")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "to", "message_id")
    date_hierarchy = "created_at"
    fields = ("kind", "to", "subject", "message_id", "created_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields

    @admin.display(description="to")
    def recipients(self, obj):
        return ", ".join(obj.to)


# -- applications, with the partner that owns them ------------------------------------------------------------


class PartnerOwnedApplicationForm(ApplicationForm):
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.all(),
        required=False,
        widget=AutocompleteSelect(PartnerApplication._meta.get_field("partner"), admin.site),
        help_text="The partner that owns the app, if any. Fixed at creation.",
    )


# Where the list shows the owner: after the ownership columns.
_PARTNER_COLUMN = ApplicationAdmin.list_display.index("third_party_security_mode") + 1


class PartnerOwnedApplicationAdmin(ApplicationAdmin):
    """The core's application pages, with the owning partner: chosen on the add page and fixed
    afterwards, a list column, a filter and a search. The core model has no partner of its own."""

    form = PartnerOwnedApplicationForm
    list_display = (
        *ApplicationAdmin.list_display[:_PARTNER_COLUMN],
        "owning_partner",
        *ApplicationAdmin.list_display[_PARTNER_COLUMN:],
    )
    list_select_related = ("partner_link__partner",)
    list_filter = (*ApplicationAdmin.list_filter, ("partner", admin.RelatedOnlyFieldListFilter))
    search_fields = (*ApplicationAdmin.search_fields, "partner__name")

    def get_fieldsets(self, request, obj=None):
        # Chosen on the add page (the form's field), then shown as it is.
        partner = "partner" if obj is None else "owning_partner"
        (name, options), *others = super().get_fieldsets(request, obj)
        return [(name, {**options, "fields": (*options["fields"], partner)}), *others]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "owning_partner") if obj is not None else fields

    # Not "partner": that name is the applications' query name for their owner (Partner.applications).
    @admin.display(description="partner", ordering="partner_link__partner__name")
    def owning_partner(self, obj):
        link = getattr(obj, "partner_link", None)
        return None if link is None else link.partner

    def create_application(self, request, form, **arguments):
        partner = form.cleaned_data.get("partner")
        if partner is None:
            return super().create_application(request, form, **arguments)
        return partner_application_create(actor=self.actor(request), partner=partner, **arguments)


admin.site.unregister(Application)
admin.site.register(Application, PartnerOwnedApplicationAdmin)
