"""Partners' requests for API access, approved (all or some of the scopes) or rejected here."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, service_errors_to_form
from oauthcore.admin.client_grants import scope_summary
from portal.partners.models import AccessRequest, RequestStatus
from portal.partners.selectors import RequestScopes, access_request_scopes
from portal.partners.services.access_requests import (
    DRAFT_FIELDS,
    access_request_approve,
    access_request_reject,
    access_request_save_draft,
)

DECISIONS = {"_approve": "approve", "_reject": "reject"}
REQUEST_FIELDS = (
    "partner",
    "client",
    "resource_server",
    "subject_type",
    "justification",
    "requested_by",
    "created_at",
)
# What the app already holds for this API and access type, beside what it asks (as chips).
SCOPE_FIELDS = ("already_held", "requested_scope")
DECIDED_FIELDS = ("decision_summary",)
DECIDED_SCOPE_FIELDS = ("holds_now", "requested_scope")  # after the decision: what the app holds today


def scope_chips(chips, *, element_id: str, mark_held: bool = False, empty: str = "—"):
    """Scopes as chips: the value and its description; ``mark_held`` tells held scopes from new ones."""
    if not chips:
        return format_html('<span id="{}">{}</span>', element_id, empty)
    items = format_html_join(
        "",
        '<li class="scope-chip{}"><code>{}</code><span class="scope-description">{}</span>{}</li>',
        (
            (
                (" held" if chip.held else " new") if mark_held else "",
                chip.value,
                chip.description,
                format_html('<span class="scope-mark">{}</span>', "already held" if chip.held else "new")
                if mark_held
                else "",
            )
            for chip in chips
        ),
    )
    return format_html('<ul class="scope-chips" id="{}">{}</ul>', element_id, items)


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
            descriptions = dict(self.instance.resource_server.scopes.values_list("value", "description"))
            self.fields["granted_scope"].choices = [
                (value, f"{value} — {descriptions[value]}" if descriptions.get(value) else value) for value in requested
            ]
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


def is_decided(obj) -> bool:
    return obj is not None and obj.status != RequestStatus.PENDING


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
    pending_fieldsets = (
        ("Request", {"fields": REQUEST_FIELDS}),
        ("Scopes", {"fields": SCOPE_FIELDS}),
        ("Decision", {"fields": ("granted_scope", "decision_reason")}),
    )
    decided_fieldsets = (
        ("Request", {"fields": REQUEST_FIELDS}),
        ("Scopes", {"fields": DECIDED_SCOPE_FIELDS}),
        ("Decision", {"fields": DECIDED_FIELDS}),
    )
    request_fields = (*REQUEST_FIELDS, *SCOPE_FIELDS)

    def has_add_permission(self, request):
        return False  # partners ask; the tenant admin decides

    def get_fieldsets(self, request, obj=None):
        return self.decided_fieldsets if is_decided(obj) else self.pending_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if is_decided(obj):  # nothing left to edit: the decision, who made it and when
            return (*self.request_fields, *DECIDED_SCOPE_FIELDS, *DECIDED_FIELDS)
        return self.request_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        decision = next((DECISIONS[key] for key in DECISIONS if key in request.POST), None)
        return type(form_class.__name__, (form_class,), {"decision": decision})

    @admin.display(description="scope")
    def scope_display(self, obj):
        return scope_summary(obj.scope)

    def scopes_of(self, obj) -> RequestScopes:
        """Read once per page (the scope fields below share it)."""
        if getattr(obj, "_scopes", None) is None:
            obj._scopes = access_request_scopes(obj)
        return obj._scopes

    @admin.display(description="asks for")
    def requested_scope(self, obj):
        # Held or new only means something before the decision (an approval makes every scope held).
        return scope_chips(self.scopes_of(obj).asked, element_id="asked-for", mark_held=not is_decided(obj))

    @admin.display(description="already holds")
    def already_held(self, obj):
        scopes = self.scopes_of(obj)
        if scopes.holds_every_scope:
            note = format_html('<p class="help">{}</p>', "Its client grant allows every scope of this API.")
            return format_html("{}{}", scope_chips(scopes.held, element_id="already-held"), note)
        return scope_chips(
            scopes.held, element_id="already-held", empty="Nothing yet: the app has no client grant for this API."
        )

    @admin.display(description="holds now")
    def holds_now(self, obj):
        return self.already_held(obj)

    @admin.display(description="decision")
    def decision_summary(self, obj):
        who = obj.decided_by or "a tenant admin"
        when = formats.date_format(timezone.localtime(obj.decided_at), "DATETIME_FORMAT") if obj.decided_at else "—"
        granted = (
            format_html("<p>Granted:</p>{}", scope_chips(self.scopes_of(obj).granted, element_id="granted"))
            if obj.status == RequestStatus.APPROVED
            else ""
        )
        reason = format_html("<p>Reason: {}</p>", obj.decision_reason) if obj.decision_reason else ""
        return format_html(
            '<div id="decision-summary"><p><strong>{}</strong> by {} on {}</p>{}{}</div>',
            obj.get_status_display(),
            who,
            when,
            granted,
            reason,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_decide"] = (
            obj is not None and obj.status == RequestStatus.PENDING and self.has_change_permission(request, obj)
        )
        context["decided"] = is_decided(obj)
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
