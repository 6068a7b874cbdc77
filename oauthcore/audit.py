"""Writing the audit log. Call inside the transaction of the write it describes.

Entries are chained by hash (``oauthcore.audit_chain``): each one is appended under the chain's
lock, so ``record_event`` opens a transaction (a savepoint inside an outer one) of its own.
"""

import json
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from oauthcore import audit_chain
from oauthcore.models.audit import ActorType, AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person (admin, partner member, end user), a client, or the system."""

    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def user(cls, user) -> "Actor":
        return cls(ActorType.USER, str(user.pk), user.get_username())

    @classmethod
    def client(cls, application) -> "Actor":
        return cls(ActorType.CLIENT, application.client_id, application.name)

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(ActorType.SYSTEM, "", label)


def _text(value, max_length: int | None = None) -> str:
    """Storable text: PostgreSQL refuses NUL characters, and a column its maximum length.

    Audit entries often quote what a request sent (a client id, a scope): whatever it was, the
    entry must be written, never turned into an error.
    """
    text = str(value).replace("\x00", "\ufffd")
    return text[:max_length] if max_length else text


def _json_safe(data):
    """The data exactly as it will read back from a JSON column (string keys, lists, no NULs)."""
    return json.loads(json.dumps(data or {}, default=str).replace("\\u0000", "\\ufffd"))


def _limit(field: str) -> int:
    return AuditEvent._meta.get_field(field).max_length


def record_event(*, actor: Actor, action: str, target: models.Model | None = None, reason: str = "", data=None):
    fields = {
        "created_at": timezone.now(),
        "actor_type": _text(actor.type, _limit("actor_type")),
        "actor_id": _text(actor.id, _limit("actor_id")),
        "actor_label": _text(actor.label, _limit("actor_label")),
        "action": _text(action, _limit("action")),
        "target_type": _text(target._meta.label_lower, _limit("target_type")) if target is not None else "",
        "target_id": _text(target.pk, _limit("target_id")) if target is not None else "",
        "reason": _text(reason),
        "data": _json_safe(data),
    }
    with transaction.atomic():
        return audit_chain.append(fields)
