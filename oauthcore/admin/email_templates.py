"""The account emails' templates: the tenant admin words them, sees a preview with sample values,
and a template that does not compile is refused on its field."""

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from oauthcore import account_emails
from oauthcore.admin.base import ServiceAdminMixin, ServiceModelForm, adopt, service_errors_to_form
from oauthcore.conf import portcullis_settings
from oauthcore.models import EmailTemplate
from oauthcore.services.email_templates import FIELDS, email_template_delete, email_template_save

VARIABLES_HELP = (
    "Variables: {{ user.email }}, {{ user.email_verified }}, {{ user.name }}, {{ user.given_name }}, "
    "{{ user.family_name }}, {{ user.nickname }}, {{ user.username }}, {{ user.user_id }}, "
    "{{ tenant.friendly_name }}, {{ tenant.support_email }}, {{ url }} (the link: verification and reset emails), "
    "{{ application.name }}, {{ application.client_id }}, {{ application.callback_domain }} (only for an app "
    "whose redirection policy is allow_always; empty otherwise). Plain text; {% if %}, {% for %} and the "
    "built-in filters work, {% load %}, {% include %} and {% debug %} do not."
)


class EmailTemplateForm(ServiceModelForm):
    result_url = forms.URLField(
        label="Result URL",
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text=EmailTemplate._meta.get_field("result_url").help_text,
    )

    class Meta:
        model = EmailTemplate
        fields = ("template", "enabled", "from_address", "subject", "body", "result_url", "url_lifetime_in_seconds")
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "cols": 90})}
        help_texts = {"body": VARIABLES_HELP}

    def clean_from_address(self):
        value = (self.cleaned_data.get("from_address") or "").strip()
        if message := account_emails.sender_error(value):
            raise forms.ValidationError(message)
        return value

    def clean_url_lifetime_in_seconds(self):
        value = self.cleaned_data.get("url_lifetime_in_seconds")
        longest = portcullis_settings.ACCOUNT_LINK_MAX_SECONDS
        if value is not None and not 0 < value <= longest:
            raise forms.ValidationError(f"Must be from 1 to {longest} seconds.")
        return value

    def clean(self):
        data = super().clean()
        for field, message in account_emails.compile_errors(
            subject=data.get("subject") or "", body=data.get("body") or ""
        ).items():
            self.add_error(field, message)
        return data


@admin.register(EmailTemplate)
class EmailTemplateAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = EmailTemplateForm
    list_display = ("template", "enabled", "subject", "updated_at")
    readonly_fields = ("preview",)

    def get_fields(self, request, obj=None):
        fields = ["template", "enabled", "from_address", "subject", "body", "result_url", "url_lifetime_in_seconds"]
        return [*fields, "preview"] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        return ("template", "preview") if obj is not None else ()

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        default = account_emails.DEFAULTS.get(initial.get("template"))
        if default is not None:
            initial.setdefault("subject", default.subject)
            initial.setdefault("body", default.body)
            initial.setdefault("enabled", default.enabled)
        return initial

    @admin.display(description="preview (sample values)")
    def preview(self, obj):
        context = account_emails.sample_variables()
        try:
            subject = account_emails.render(obj.subject, context)
            body = account_emails.render(obj.body, context)
        except Exception as exc:  # shown to the admin who wrote it, never sent
            return format_html('<p class="errornote">This template fails to render: {}</p>', exc)
        return format_html(
            '<div class="email-preview"><p><strong>Subject:</strong> {}</p><pre>{}</pre></div>', subject, body
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        template = obj.template if change else data["template"]
        fields = {name: data[name] for name in FIELDS if name in data}
        with service_errors_to_form():
            adopt(obj, email_template_save(actor=self.actor(request), template=template, **fields))

    def delete_model(self, request, obj):
        email_template_delete(actor=self.actor(request), row=obj)

    def delete_queryset(self, request, queryset):
        self.delete_each(request, queryset, lambda row: email_template_delete(actor=self.actor(request), row=row))
