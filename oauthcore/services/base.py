"""The write most services end with: validate the model, save it, and record what was done."""

from collections.abc import Callable

from django.db import models

from oauthcore.audit import Actor, record_event


def save_audited(
    instance: models.Model,
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    reason: str = "",
    data: dict | Callable[[models.Model], dict] | None = None,
    update_fields: list[str] | None = None,
    exclude: list[str] | None = None,
    validate_unique: bool = True,
    validate_constraints: bool = True,
) -> models.Model:
    """``full_clean()``, ``save()`` and the audit entry, in that order; returns ``instance``.

    Call it inside the caller's ``transaction.atomic()``: the entry must commit or roll back with the
    row it describes, and a caller that turns an ``IntegrityError`` into a conflict needs the
    savepoint around this call. ``target`` defaults to ``instance``; a callable ``data`` is given the
    saved instance, for values the model only settles while saving. ``exclude``, ``validate_unique``
    and ``validate_constraints`` are passed to ``full_clean`` (for checks the caller makes itself).
    """
    instance.full_clean(exclude=exclude, validate_unique=validate_unique, validate_constraints=validate_constraints)
    instance.save(update_fields=update_fields)
    record_event(
        actor=actor,
        action=action,
        target=instance if target is None else target,
        reason=reason,
        data=data(instance) if callable(data) else data,
    )
    return instance
