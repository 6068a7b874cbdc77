"""Shared admin plumbing: writes through services, their errors as form errors, masked credentials."""

from contextlib import contextmanager

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpResponseRedirect

from oauthcore.audit import Actor

MASK = "••••"
MASK_MIN_LENGTH = 16


def mask_secret(value: str | None) -> str:
    """Only the last four characters, and none at all of a short value."""
    if not value:
        return ""
    if len(value) < MASK_MIN_LENGTH:
        return MASK
    return MASK + value[-4:]


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``1 app``, ``3 apps``, ``0 apps``: a number with its noun, for sentences on admin pages."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def admin_actor(request) -> Actor:
    return Actor.user(request.user)


def adopt(target, source) -> None:
    """Make ``target`` (the admin form's instance) the row a service saved as ``source``."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db
    target._state.fields_cache = {}


def errors_for_form(error: ValidationError, fields) -> ValidationError:
    """Errors on fields the form does not show become non-field errors (instead of a ValueError)."""
    if not hasattr(error, "error_dict"):
        return error
    remapped: dict[str, list] = {}
    for name, messages_ in error.error_dict.items():
        if name in fields or name == NON_FIELD_ERRORS:
            remapped.setdefault(name, []).extend(messages_)
        else:
            remapped.setdefault(NON_FIELD_ERRORS, []).extend(
                ValidationError(f"{name}: {message}") for message in ValidationError(messages_).messages
            )
    return ValidationError(remapped)


def add_service_error(form: forms.BaseForm, error: ValidationError) -> None:
    form.add_error(None, errors_for_form(error, form.fields))


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose model validation may name fields the form does not show."""

    def _update_errors(self, errors):
        super()._update_errors(errors_for_form(errors, self.fields))


class LinesField(forms.CharField):
    """A list edited as text, one item per line (spaces also separate items).

    ``as_list`` gives a list (for JSON fields); otherwise a space-separated string (DOT's text fields).
    """

    def __init__(self, *, as_list: bool = True, rows: int = 3, **kwargs):
        self.as_list = as_list
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows, "cols": 60}))
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if value is None:
            return ""
        items = list(value) if isinstance(value, list | tuple) else str(value).split()
        separator = "\n" if isinstance(self.widget, forms.Textarea) else " "
        return separator.join(items)

    def to_python(self, value):
        items = [str(item) for item in value] if isinstance(value, list | tuple) else (value or "").split()
        return items if self.as_list else " ".join(items)

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value):  # length validators apply to the stored text, not to a list
        if not self.as_list:
            super().run_validators(value)

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        return self.to_python(initial) != self.to_python(data)


class ServiceRejected(Exception):
    """A service refused a write that passed form validation (e.g. a concurrent duplicate)."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


@contextmanager
def service_errors_to_form():
    try:
        yield
    except ValidationError as exc:
        raise ServiceRejected(exc) from exc


class ServiceAdminMixin:
    """Admin writes go through services; a service's refusal is shown on the form, never as a 500.

    Forms run the same model checks as the services, so a refusal after validation only happens
    on a race. Then the whole request is rolled back and the form is shown again with the error.
    """

    def actor(self, request) -> Actor:
        return admin_actor(request)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRejected as exc:
            request._service_error = exc.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form_class

        class RejectedForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                add_service_error(self, error)
                return cleaned_data

        RejectedForm.__name__ = form_class.__name__
        return RejectedForm

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def delete_each(self, request, queryset, delete) -> None:
        """Bulk delete through ``delete(obj)``, one service call per row; refusals are reported."""
        for obj in queryset:
            try:
                delete(obj)
            except ValidationError as exc:
                self.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)


class ReadOnlyAdminMixin:
    """Rows the admin only looks at: written by services (or by the user, or a task), never here.

    ``deletable = True`` keeps the delete permission for admins whose ``delete_model`` revokes
    through a service (a consent, an invitation).
    """

    deletable = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)


# -- deleting objects whose cascade reaches issued tokens -------------------------------------------------


def _token_models():
    from oauthcore.models import AccessToken, Grant, IDToken, RefreshToken

    return (AccessToken, RefreshToken, Grant, IDToken)


class TokenCascadeMixin:
    """Deleting an app or a user takes its tokens with it (the delete services revoke them first).

    Token admins refuse a raw delete, which must not block the cascade from the object that owns them.
    """

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        names = {str(model._meta.verbose_name) for model in _token_models()}
        perms_needed = {name for name in perms_needed if str(name) not in names}
        return deleted, model_count, perms_needed, protected
