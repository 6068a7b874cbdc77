"""A database connection's options, in Auth0's names: whether users may sign up, and its password policy.

``disable_signup`` (default false: the login page offers sign-up). ``passwordPolicy`` is one of
Auth0's levels, mapped to password validators:

- ``none``: at least 1 character;
- ``low``: at least 6;
- ``fair``: at least 8, with lower case, upper case and digits;
- ``good``: at least 8, with three of lower case, upper case, digits and special characters;
- ``excellent``: at least 10, three of the four kinds, no character three times in a row.

From ``low`` up, common passwords and passwords too close to the user's name or address are refused
as well (Django's validators). ``password_complexity_options.min_length`` (1 to 128) replaces the
level's length. A connection without ``passwordPolicy`` uses the project's ``AUTH_PASSWORD_VALIDATORS``.
"""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

POLICIES = ("none", "low", "fair", "good", "excellent")
LENGTHS = {"none": 1, "low": 6, "fair": 8, "good": 8, "excellent": 10}
KNOWN_OPTIONS = frozenset({"disable_signup", "passwordPolicy", "password_complexity_options"})
MAX_MIN_LENGTH = 128
KINDS = {
    "lower case letters": str.islower,
    "upper case letters": str.isupper,
    "digits": str.isdigit,
    "special characters": lambda c: not c.isalnum(),
}


def checked_database_options(options: dict) -> dict:
    """``options`` as a database connection stores them; errors per option (``options.passwordPolicy``)."""
    errors = {}
    unknown = sorted(set(options) - KNOWN_OPTIONS)
    if unknown:
        errors["options"] = f"Unknown database connection options: {', '.join(unknown)}."
    if "disable_signup" in options and not isinstance(options["disable_signup"], bool):
        errors["options.disable_signup"] = "Must be true or false."
    policy = options.get("passwordPolicy")
    if policy is not None and policy not in POLICIES:
        errors["options.passwordPolicy"] = f"Must be one of: {', '.join(POLICIES)}."
    complexity = options.get("password_complexity_options")
    if complexity is not None:
        length = complexity.get("min_length") if isinstance(complexity, dict) else None
        if not isinstance(complexity, dict) or set(complexity) - {"min_length"}:
            errors["options.password_complexity_options"] = "Only min_length may be set."
        elif length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_MIN_LENGTH
        ):
            errors["options.password_complexity_options"] = f"min_length must be a number from 1 to {MAX_MIN_LENGTH}."
    if errors:
        raise ValidationError(errors)
    return dict(options)


def signup_allowed(connection) -> bool:
    return connection.is_enabled and not connection.options.get("disable_signup", False)


class CharacterKindsValidator:
    """At least ``needed`` of the character kinds (all of ``kinds`` when ``needed`` is None)."""

    def __init__(self, kinds: tuple[str, ...], needed: int | None = None):
        self.kinds, self.needed = kinds, needed if needed is not None else len(kinds)

    def validate(self, password, user=None):
        present = [kind for kind in self.kinds if any(KINDS[kind](c) for c in password)]
        if len(present) < self.needed:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        if self.needed == len(self.kinds):
            return f"Your password must contain {', '.join(self.kinds[:-1])} and {self.kinds[-1]}."
        return f"Your password must contain at least {self.needed} of: {', '.join(self.kinds)}."


class NoTripleValidator:
    def validate(self, password, user=None):
        if any(password[i] == password[i + 1] == password[i + 2] for i in range(len(password) - 2)):
            raise ValidationError(self.get_help_text(), code="password_repeats")

    def get_help_text(self):
        return "Your password must not repeat a character more than twice in a row."


def password_validators(connection) -> list:
    """The validators a new password of ``connection``'s users must pass."""
    options = connection.options or {}
    policy = options.get("passwordPolicy")
    if policy is None:
        return password_validation.get_default_password_validators()
    length = (options.get("password_complexity_options") or {}).get("min_length") or LENGTHS[policy]
    validators = [password_validation.MinimumLengthValidator(min_length=length)]
    if policy != "none":
        validators += [
            password_validation.CommonPasswordValidator(),
            password_validation.UserAttributeSimilarityValidator(),
        ]
    all_kinds = tuple(KINDS)
    if policy == "fair":
        validators.append(CharacterKindsValidator(all_kinds[:3]))
    elif policy in ("good", "excellent"):
        validators.append(CharacterKindsValidator(all_kinds, needed=3))
    if policy == "excellent":
        validators.append(NoTripleValidator())
    return validators


def validate_connection_password(password: str, *, user, connection) -> None:
    """Raise ``ValidationError`` (every reason) when ``password`` breaks the connection's policy."""
    password_validation.validate_password(password, user=user, password_validators=password_validators(connection))


def password_help(connection) -> list[str]:
    return password_validation.password_validators_help_texts(password_validators(connection))
