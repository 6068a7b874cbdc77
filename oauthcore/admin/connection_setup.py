"""Setup links: a tenant admin gives one to a customer, whose IT admin connects their own provider.

The link is shown once, on creation (only its digest is kept, like a client secret's); afterwards
the list says how far the customer got. A link is never edited: it can be withdrawn (it expires
now), and a new one made.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html

from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, adopt, service_errors_to_form
from oauthcore.conf import portcullis_settings
from oauthcore.models import ConnectionSetupLink
from oauthcore.services.connection_setup import setup_link_create, setup_link_expire

CREATE_FIELDS = ("strategy", "connection_name", "customer_label", "may_be_domain_level")


class SetupLinkForm(ServiceModelForm):
    class Meta:
        model = ConnectionSetupLink
        fields = list(CREATE_FIELDS)
        widgets = {"strategy": forms.RadioSelect}


@admin.register(ConnectionSetupLink)
class ConnectionSetupLinkAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = SetupLinkForm
    list_display = ("customer_label", "connection_name", "strategy", "status", "expires_at", "created_by")
    list_select_related = ("created_by", "connection")
    list_filter = ("strategy", "may_be_domain_level")
    search_fields = ("customer_label", "connection_name")
    ordering = ("-created_at",)
    actions = ("withdraw",)
    readonly_fields = (
        *CREATE_FIELDS,
        "status",
        "connection_link",
        "domain_aliases",
        "created_by",
        "created_at",
        "expires_at",
        "opened_at",
        "tested_at",
        "used_at",
    )

    def get_fields(self, request, obj=None):
        return CREATE_FIELDS if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        # A link is never edited (its page is read-only); the change permission is what withdrawing asks for.
        return super().has_change_permission(request, obj) and obj is None

    def has_delete_permission(self, request, obj=None):
        return False  # what a customer did with a link stays: withdraw it instead

    @admin.display(description="status")
    def status(self, obj):
        return obj.status

    @admin.display(description="connection")
    def connection_link(self, obj):
        if obj.connection_id is None:
            return "—"
        url = reverse("admin:oauthcore_connection_change", args=[quote(obj.connection_id)])
        return format_html('<a href="{}">{}</a>', url, obj.connection)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        with service_errors_to_form():
            issued = setup_link_create(
                actor=self.actor(request),
                created_by=request.user,
                **{name: data[name] for name in CREATE_FIELDS},
            )
        adopt(obj, issued.link)
        obj._plain_token = issued.token

    def response_add(self, request, obj, post_url_continue=None):
        token = obj.__dict__.pop("_plain_token", None)
        if token:
            link = f"{portcullis_settings.issuer}{reverse('connection-setup-link', args=[token])}"
            messages.warning(
                request,
                format_html(
                    "The setup link for {} is <code class='setup-link'>{}</code> — copy it now and send it to them: "
                    "it is stored hashed and will not be shown again. It works until {} UTC, for one setup.",
                    obj.customer_label,
                    link,
                    f"{obj.expires_at:%Y-%m-%d %H:%M}",
                ),
                extra_tags="setup-link",
            )
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Withdraw the selected links (they stop working now)", permissions=["change"])
    def withdraw(self, request, queryset):
        count = 0
        for link in queryset.filter(used_at__isnull=True):
            if not link.is_expired:
                setup_link_expire(actor=self.actor(request), link=link)
                count += 1
        self.message_user(request, f"{count} setup link(s) withdrawn.", messages.SUCCESS)
