"""Organizations: the tenant's business customers, with their members, enabled connections and
authorized client grants.

Each of the three lists is two inlines: the rows there are (what they link to fixed, their settings
editable, a row deleted to take it away) and rows to add. A row's link is never edited in place: a
member is another user, an enabled connection another connection, so it is removed and added. Every
write goes through ``oauthcore.services.organizations``, which audits it and revokes what a removal
takes away; blocking third-party access asks to be confirmed first, with how many tokens it revokes.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from oauthcore.admin.base import (
    ServiceAdminMixin,
    ServiceModelForm,
    TokenCascadeMixin,
    adopt,
    counted,
    service_errors_to_form,
)
from oauthcore.admin.deletion import DeletionSummaryMixin, organization_deletion_summary
from oauthcore.constants import SubjectType, ThirdPartyClientAccess
from oauthcore.models import (
    ClientGrant,
    Organization,
    OrganizationClientGrant,
    OrganizationConnection,
    OrganizationMember,
)
from oauthcore.reach import third_party_tokens_in_organization
from oauthcore.services.organizations import (
    CONNECTION_FIELDS,
    UPDATABLE_FIELDS,
    organization_client_grant_add,
    organization_client_grant_remove,
    organization_connection_add,
    organization_connection_remove,
    organization_connection_update,
    organization_create,
    organization_delete,
    organization_member_set_role,
    organization_members_add,
    organization_members_remove,
    organization_update,
)

CONFIRM_BLOCK_FIELD = "confirm_block"
FORM_FIELDS = ("name", "display_name", "third_party_client_access", "branding", "metadata")


def block_warning(organization: Organization) -> str:
    tokens = counted(third_party_tokens_in_organization(organization), "token")
    return (
        f"Blocking third-party apps in {organization.shown_name} revokes the {tokens} third-party apps hold "
        "for its users there, and they can no longer log its users in to it. Tick the box to confirm."
    )


class OrganizationForm(ServiceModelForm):
    # Shown (by OrganizationAdmin) when an organization that allows third-party apps is sent back blocking them.
    confirm_block = forms.BooleanField(
        required=False,
        label="Yes, block them",
        help_text="Their tokens for this organization stop working at once.",
    )

    class Meta:
        model = Organization
        fields = list(FORM_FIELDS)

    def clean_branding(self):
        return self.cleaned_data.get("branding") or {}

    def clean_metadata(self):
        return self.cleaned_data.get("metadata") or {}

    def blocks(self, data) -> bool:
        return bool(
            not self.instance._state.adding
            and self.initial.get("third_party_client_access") == ThirdPartyClientAccess.ALLOW
            and data.get("third_party_client_access") == ThirdPartyClientAccess.BLOCK
        )

    def clean(self):
        cleaned_data = super().clean()
        if self.blocks(cleaned_data) and not cleaned_data.get(CONFIRM_BLOCK_FIELD):
            self.add_error(CONFIRM_BLOCK_FIELD, block_warning(self.instance))
        return cleaned_data


# -- the inlines -----------------------------------------------------------------------------------------------


class ServiceFormSet(BaseInlineFormSet):
    """An inline whose rows its subclass's ``write(actor, organization)`` sends to the services, one call
    per row (or one per list of users), instead of saving them."""

    def rows(self):
        """What was sent: (deleted, changed with their changed fields, new), saving nothing."""
        self.save(commit=False)
        return self.deleted_objects, self.changed_objects, self.new_objects


class NewRowsFormSet(ServiceFormSet):
    """Rows to add: what a row links to that the organization has already is a field error on that row
    (one statement for the whole formset), instead of a duplicate the service would refuse."""

    linked = ""  # the field naming what a row links to
    taken = ""  # the error, when the organization has it already

    def clean(self):
        super().clean()
        chosen = [
            (form, form.cleaned_data.get(self.linked))
            for form in self.forms
            if getattr(form, "cleaned_data", None) and form.has_changed()
        ]
        wanted = {linked.pk for _form, linked in chosen if linked is not None}
        if not wanted:
            return
        there = set(
            self.model.objects.filter(organization=self.instance, **{f"{self.linked}__in": wanted}).values_list(
                f"{self.linked}_id", flat=True
            )
        )
        for form, linked in chosen:
            if linked is not None and linked.pk in there:
                form.add_error(self.linked, self.taken)


class MemberRowsFormSet(ServiceFormSet):
    def write(self, actor, organization) -> None:
        deleted, changed, _new = self.rows()
        if deleted:
            organization_members_remove(actor=actor, organization=organization, users=[m.user for m in deleted])
        for membership, fields in changed:
            if "role" in fields:
                organization_member_set_role(actor=actor, membership=membership, role=membership.role)


class NewMemberFormSet(NewRowsFormSet):
    linked, taken = "user", "Already a member of the organization."

    def write(self, actor, organization) -> None:
        _deleted, _changed, new = self.rows()
        if not new:
            return
        organization_members_add(actor=actor, organization=organization, users=[m.user for m in new])
        roles = {m.user_id: m.role for m in new if m.role != OrganizationMember._meta.get_field("role").default}
        for membership in OrganizationMember.objects.select_related("user__connection", "organization").filter(
            organization=organization, user_id__in=roles
        ):
            organization_member_set_role(actor=actor, membership=membership, role=roles[membership.user_id])


class ConnectionRowsFormSet(ServiceFormSet):
    def write(self, actor, organization) -> None:
        deleted, changed, _new = self.rows()
        for link in deleted:
            organization_connection_remove(actor=actor, link=link)
        for link, fields in changed:
            settings = {name: getattr(link, name) for name in fields if name in CONNECTION_FIELDS}
            if settings:
                organization_connection_update(actor=actor, link=link, **settings)


class NewConnectionFormSet(NewRowsFormSet):
    linked, taken = "connection", "Already enabled for the organization."

    def write(self, actor, organization) -> None:
        for link in self.rows()[2]:
            added = organization_connection_add(
                actor=actor,
                organization=organization,
                connection=link.connection,
                **{name: getattr(link, name) for name in CONNECTION_FIELDS},
            )
            adopt(link, added)


class GrantRowsFormSet(ServiceFormSet):
    def write(self, actor, organization) -> None:
        for link in self.rows()[0]:
            organization_client_grant_remove(actor=actor, link=link)


class NewGrantFormSet(NewRowsFormSet):
    linked, taken = "client_grant", "Already authorized by the organization."

    def write(self, actor, organization) -> None:
        for link in self.rows()[2]:
            adopt(link, organization_client_grant_add(actor=actor, organization=organization, grant=link.client_grant))


class RowsInline(admin.TabularInline):
    """The rows there are: what each links to is shown, not edited."""

    extra = 0
    linked = ""  # the field naming what the row links to

    def has_add_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return (self.linked, "created_at")


class NewRowsInline(admin.TabularInline):
    """Rows to add; the rows there are are listed by the inline before it."""

    extra = 1
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # No edit/add icons beside the select in each row: a connection or a grant is made on its own page.
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
        return formfield


class MemberInline(RowsInline):
    model = OrganizationMember
    formset = MemberRowsFormSet
    linked = "user"
    fields = ("user", "role", "created_at")
    verbose_name_plural = "members (removing one revokes the tokens they hold for the organization)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user__connection", "organization")


class NewMemberInline(NewRowsInline):
    model = OrganizationMember
    formset = NewMemberFormSet
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    verbose_name = "new member"
    verbose_name_plural = "add members"


class ConnectionInline(RowsInline):
    model = OrganizationConnection
    formset = ConnectionRowsFormSet
    linked = "connection"
    fields = ("connection", "assign_membership_on_login", "show_as_button", "is_signup_enabled", "created_at")
    verbose_name_plural = "enabled connections (removing one revokes the tokens its users hold for the organization)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection", "organization")


class NewConnectionInline(NewRowsInline):
    model = OrganizationConnection
    formset = NewConnectionFormSet
    fields = ("connection", "assign_membership_on_login", "show_as_button", "is_signup_enabled")
    verbose_name = "connection to enable"
    verbose_name_plural = "enable connections"


def client_grants_for_organizations():
    """The grants an organization can authorize: an app's own grant for client access."""
    return ClientGrant.objects.filter(client__isnull=False, subject_type=SubjectType.CLIENT).select_related("client")


class GrantInline(RowsInline):
    model = OrganizationClientGrant
    formset = GrantRowsFormSet
    linked = "client_grant"
    fields = ("client_grant", "created_at")
    verbose_name_plural = (
        "authorized client grants (machine to machine; removing one withdraws the tokens of its app for its API)"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client_grant__client", "organization")


class NewGrantInline(NewRowsInline):
    model = OrganizationClientGrant
    formset = NewGrantFormSet
    fields = ("client_grant",)
    verbose_name = "client grant to authorize"
    verbose_name_plural = "authorize client grants"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "client_grant":
            kwargs["queryset"] = client_grants_for_organizations()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# -- the organization --------------------------------------------------------------------------------------------


@admin.register(Organization)
class OrganizationAdmin(TokenCascadeMixin, DeletionSummaryMixin, ServiceAdminMixin, admin.ModelAdmin):
    form = OrganizationForm
    deletion_summary = staticmethod(organization_deletion_summary)  # the delete pages say what goes with it
    list_display = ("name", "display_name", "third_party_client_access", "member_count", "connection_count")
    list_filter = ("third_party_client_access",)
    search_fields = ("name", "display_name")
    ordering = ("name",)
    readonly_fields = ("id", "created_at", "updated_at")

    def get_fieldsets(self, request, obj=None):
        main = FORM_FIELDS if obj is None else ("id", *FORM_FIELDS)
        if self._block_sent(request, obj):
            main = (*main, CONFIRM_BLOCK_FIELD)  # a block sent: the form asks to confirm it
        fieldsets = [(None, {"fields": main})]
        if obj is not None:
            fieldsets.append(("Dates", {"fields": ("created_at", "updated_at")}))
        return fieldsets

    @staticmethod
    def _block_sent(request, obj) -> bool:
        return bool(
            request.method == "POST"
            and obj is not None
            and obj.allows_third_party
            and request.POST.get("third_party_client_access") == ThirdPartyClientAccess.BLOCK
        )

    def get_inlines(self, request, obj):
        # The rows need the organization's id: they are added once it exists.
        if obj is None:
            return []
        return [MemberInline, NewMemberInline, ConnectionInline, NewConnectionInline, GrantInline, NewGrantInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=Count("memberships", distinct=True),
                connection_total=Count("enabled_connections", distinct=True),
            )
        )

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description="enabled connections", ordering="connection_total")
    def connection_count(self, obj):
        return obj.connection_total

    # -- writes ----------------------------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with service_errors_to_form():
            if change:
                fields = {name: data[name] for name in form.changed_data if name in UPDATABLE_FIELDS}
                if fields:
                    organization_update(actor=self.actor(request), organization=obj, **fields)
                return
            created = organization_create(
                actor=self.actor(request),
                name=data["name"],
                **{name: data[name] for name in FORM_FIELDS if name != "name"},
            )
        adopt(obj, created)

    def save_related(self, request, form, formsets, change):
        """The rows through the services (audited, revoking what a removal takes away), not form.save_m2m();
        the rows there are first (removals and changes), then the rows added."""
        ordered = sorted(formsets, key=lambda formset: isinstance(formset, NewRowsFormSet))
        for formset in ordered:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        with service_errors_to_form():
            formset.write(self.actor(request), form.instance)

    def delete_model(self, request, obj):
        organization_delete(actor=self.actor(request), organization=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda organization: self.delete_model(request, organization))
