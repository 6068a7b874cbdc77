"""What each partner role may do: the one place the portal's role rules live.

Developers manage apps and access requests; admins also manage members; owners also delete the
partner. Roles are ordered, and nobody hands out or touches a role above their own.
"""

from portal.partners.models import Role

RANK = {Role.DEVELOPER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def at_least(role: str, minimum: str) -> bool:
    return RANK.get(role, 0) >= RANK[minimum]


def can_manage_members(role: str) -> bool:
    return at_least(role, Role.ADMIN)


def can_edit_partner(role: str) -> bool:
    return at_least(role, Role.ADMIN)


def can_delete_partner(role: str) -> bool:
    return at_least(role, Role.OWNER)


def grantable_roles(role: str) -> list[str]:
    """The roles someone with ``role`` may give (by invitation or by a change): up to their own."""
    if not can_manage_members(role):
        return []
    return [value for value in (Role.DEVELOPER, Role.ADMIN, Role.OWNER) if RANK[value] <= RANK[role]]


def member_change_error(*, actor_role: str, target_role: str, new_role: str | None = None) -> str | None:
    """Why someone with ``actor_role`` may not change (``new_role``) or remove (None) a member, or None."""
    if not can_manage_members(actor_role):
        return "Only owners and admins manage members."
    if RANK[target_role] > RANK[actor_role]:
        return f"Only an owner can change or remove an {target_role}."
    if new_role is not None and new_role not in grantable_roles(actor_role):
        return f"As {'an' if actor_role == Role.ADMIN else 'a'} {actor_role} you cannot make someone {new_role}."
    return None
