"""Writing the audit log. Call inside the transaction of the write it describes.

An entry is one INSERT and takes no lock: it commits or rolls back with the change it describes,
so nothing audited is ever lost and nothing rolled back is ever logged, and a long transaction
holds up no other writer. It is written pending; the sealer (``oauthcore.audit_chain.seal``)
chains it by hash once it has committed.
"""

import json
from dataclasses import dataclass

from django.db import models
from django.utils import timezone

from oauthcore.models.audit import ActorType, AuditEvent
from oauthcore.policy import DENIAL_REASONS, Denial

# The action of every refused authorization or token request (its data: reason, trace; oauthcore.validator).
DENIAL_ACTION = "access.denied"


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


def storable_text(value, max_length: int | None = None) -> str:
    """Storable text: PostgreSQL refuses NUL characters, and a column its maximum length.

    Audit entries often quote what a request sent (a client id, a scope): whatever it was, the
    entry must be written, never turned into an error.
    """
    text = str(value).replace("\x00", "\ufffd")
    return text[:max_length] if max_length else text


def _json_safe(data):
    """The data exactly as it will read back from a JSON column (string keys, lists, no NULs)."""
    return json.loads(json.dumps(data or {}, default=str).replace("\\u0000", "\\ufffd"))


def recorded_denial(event: AuditEvent) -> Denial | None:
    """The rule that refused, and its sentence, for a refusal this log recorded (None for other
    entries, and for refusals recorded before reasons had sentences)."""
    return DENIAL_REASONS.get((event.data or {}).get("reason"))


def _limit(field: str) -> int:
    return AuditEvent._meta.get_field(field).max_length


def record_event(
    *, actor: Actor, action: str, target: models.Model | None = None, reason: str = "", data=None
) -> AuditEvent:
    """Append a (pending) entry and return it."""
    return AuditEvent.objects.create(
        created_at=timezone.now(),
        actor_type=storable_text(actor.type, _limit("actor_type")),
        actor_id=storable_text(actor.id, _limit("actor_id")),
        actor_label=storable_text(actor.label, _limit("actor_label")),
        action=storable_text(action, _limit("action")),
        target_type=storable_text(target._meta.label_lower, _limit("target_type")) if target is not None else "",
        target_id=storable_text(target.pk, _limit("target_id")) if target is not None else "",
        reason=storable_text(reason),
        data=_json_safe(data),
    )
