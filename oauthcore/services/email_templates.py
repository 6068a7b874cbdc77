"""The tenant's wording of the account emails: saved only when the subject and body compile."""

from django.core.exceptions import ValidationError
from django.db import transaction

from oauthcore.account_emails import compile_errors, sender_error
from oauthcore.audit import Actor, record_event
from oauthcore.conf import portcullis_settings
from oauthcore.models import EmailTemplate, EmailTemplateName
from oauthcore.services.base import save_audited

FIELDS = ("subject", "body", "enabled", "from_address", "result_url", "url_lifetime_in_seconds")


def email_template_save(*, actor: Actor, template: str, **fields) -> EmailTemplate:
    """Create or change the row of ``template``; a subject or body that does not compile is refused
    on its field, and so is a name that is not one of the templates."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"email_template_save got unexpected fields: {', '.join(sorted(unknown))}")
    if template not in EmailTemplateName.values:
        raise ValidationError({"template": f"Must be one of: {', '.join(EmailTemplateName.values)}."})
    with transaction.atomic():
        row = EmailTemplate.objects.select_for_update().filter(template=template).first()
        creating = row is None
        row = row or EmailTemplate(template=template)
        for name, value in fields.items():
            setattr(row, name, value)
        errors = compile_errors(subject=row.subject, body=row.body)
        if message := sender_error(row.from_address):
            errors["from_address"] = message
        longest = portcullis_settings.ACCOUNT_LINK_MAX_SECONDS
        if row.url_lifetime_in_seconds is not None and not 0 < row.url_lifetime_in_seconds <= longest:
            errors["url_lifetime_in_seconds"] = f"Must be from 1 to {longest} seconds."
        if errors:
            raise ValidationError(errors)
        save_audited(
            row,
            actor=actor,
            action="email_template.create" if creating else "email_template.update",
            data={"template": template, "fields": sorted(fields), "enabled": row.enabled},
        )
    return row


def email_template_delete(*, actor: Actor, row: EmailTemplate) -> None:
    """Back to the default wording."""
    with transaction.atomic():
        record_event(actor=actor, action="email_template.delete", target=row, data={"template": row.template})
        row.delete()
