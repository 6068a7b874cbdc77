"""Writing the audit log. Call inside the transaction of the write it describes."""

from dataclasses import dataclass

from django.db import models

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


def record_event(*, actor: Actor, action: str, target: models.Model | None = None, reason: str = "", data=None):
    return AuditEvent.objects.create(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        reason=reason,
        data=data or {},
    )
