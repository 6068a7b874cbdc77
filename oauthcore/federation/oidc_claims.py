"""From the provider's claims to our profile fields: the ``attribute_map`` option, in Auth0's shape.

``{"mapping_mode": "basic_profile"}`` (the default) takes the standard claims of the same names
(``PROFILE_FIELDS``) from the ID token, and those the ID token leaves out from the userinfo response.
``{"mapping_mode": "use_map", "attributes": {"email": "${context.tokenset.id_token.mail}",
"nickname": "${context.userinfo.department}"}}`` sets only the fields mapped, each from one claim of
the ID token or of the userinfo response (a whole-value template), or to a constant string or boolean.
A claim name with dots reads nested objects when no claim has the whole name (``address.country``).
"""

import re

from oauthcore.federation.base import PROFILE_FIELDS

BASIC_PROFILE, USE_MAP = "basic_profile", "use_map"
TEMPLATE_RE = re.compile(r"^\$\{context\.(tokenset\.id_token|userinfo)\.([^\s{}$]{1,255})\}$")
SOURCES = {"tokenset.id_token": "id_token", "userinfo": "userinfo"}


def attribute_map_error(attribute_map) -> str | None:
    if attribute_map is None:
        return None
    if not isinstance(attribute_map, dict) or set(attribute_map) - {"mapping_mode", "attributes"}:
        return 'An object: {"mapping_mode": "basic_profile" | "use_map", "attributes": {...}}.'
    mode = attribute_map.get("mapping_mode") or BASIC_PROFILE
    attributes = attribute_map.get("attributes")
    if mode not in (BASIC_PROFILE, USE_MAP):
        return "mapping_mode must be basic_profile or use_map."
    if mode == BASIC_PROFILE:
        return "attributes are used with mapping_mode use_map only." if attributes else None
    if not isinstance(attributes, dict) or not attributes:
        return (
            "use_map needs attributes: profile field -> ${context.tokenset.id_token.CLAIM} "
            "or ${context.userinfo.CLAIM}."
        )
    for name, value in attributes.items():
        if name not in PROFILE_FIELDS:
            return f"attributes can set {', '.join(PROFILE_FIELDS)}; not {str(name)[:100]}."
        if isinstance(value, bool) or (isinstance(value, str) and "${" not in value and len(value) <= 2000):
            continue
        if not isinstance(value, str) or not TEMPLATE_RE.match(value):
            return (
                f"attributes.{name}: a whole ${{context.tokenset.id_token.CLAIM}} or ${{context.userinfo.CLAIM}}, "
                "or a constant."
            )
    return None


def normalised_attribute_map(attribute_map) -> dict:
    attribute_map = attribute_map or {}
    mode = attribute_map.get("mapping_mode") or BASIC_PROFILE
    if mode == BASIC_PROFILE:
        return {"mapping_mode": BASIC_PROFILE}
    return {"mapping_mode": USE_MAP, "attributes": dict(attribute_map["attributes"])}


def needs_userinfo(attribute_map: dict, id_token: dict) -> bool:
    """Whether mapping needs the userinfo response (one more request to the provider)."""
    if (attribute_map.get("mapping_mode") or BASIC_PROFILE) == BASIC_PROFILE:
        return any(name not in id_token for name in ("email", "name"))
    return any(
        isinstance(value, str) and value.startswith("${context.userinfo.")
        for value in attribute_map["attributes"].values()
    )


def map_profile(attribute_map: dict, *, id_token: dict, userinfo: dict) -> dict:
    if (attribute_map.get("mapping_mode") or BASIC_PROFILE) == BASIC_PROFILE:
        merged = {**userinfo, **id_token}
        profile = {name: merged[name] for name in PROFILE_FIELDS if merged.get(name) is not None}
    else:
        contexts = {"id_token": id_token, "userinfo": userinfo}
        profile = {}
        for name, value in attribute_map["attributes"].items():
            if (match := TEMPLATE_RE.match(value) if isinstance(value, str) else None) is not None:
                value = _claim(contexts[SOURCES[match.group(1)]], match.group(2))
            if value is not None:
                profile[name] = value
    return _typed(profile)


def _claim(claims: dict, name: str):
    if name in claims:
        return claims[name]
    value = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _typed(profile: dict) -> dict:
    """Profile fields as the user model keeps them: ``email_verified`` a boolean, the rest strings."""
    typed = {}
    for name, value in profile.items():
        if name == "email_verified":
            typed[name] = value is True or (isinstance(value, str) and value.lower() == "true")
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            typed[name] = str(value)[:2000]
    return typed
