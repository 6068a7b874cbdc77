"""Fields that are set at creation and never change, whoever saves the row."""

from django.core.exceptions import ValidationError


class ImmutableFieldsMixin:
    """Refuse a change to any of ``immutable_fields`` once the row exists.

    Sending the same value again is fine; only a change is refused. The stored values are read
    once per check, so admin forms, services and the API all get the same field error.
    """

    immutable_fields: tuple[str, ...] = ()

    def immutable_field_errors(self, update_fields=None) -> dict[str, str]:
        names = self.immutable_fields
        if update_fields is not None:  # a partial save (say, last_login) cannot touch the others
            names = [name for name in names if {name, self._meta.get_field(name).attname} & set(update_fields)]
        if self._state.adding or self.pk is None or not names:
            return {}
        attnames = {name: self._meta.get_field(name).attname for name in names}
        stored = type(self)._default_manager.filter(pk=self.pk).values(*attnames.values()).first()
        if stored is None:
            return {}
        return {
            name: f"{name} is set at creation and cannot be changed."
            for name, attname in attnames.items()
            if getattr(self, attname) != stored[attname]
        }

    def check_immutable_fields(self, update_fields=None) -> None:
        errors = self.immutable_field_errors(update_fields)
        if errors:
            raise ValidationError(errors)
