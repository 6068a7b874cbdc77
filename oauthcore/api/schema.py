"""What drf-spectacular cannot infer from the views, added to the OpenAPI document once, for
every operation: the error envelope and the statuses that carry it, and the two shapes of a
paged list. Keeps /api/v2/schema true to what the API answers (checked by schemathesis in
tests/fuzz/).
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Auth0's error envelope, for every error of the management API.",
    "properties": {
        "statusCode": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "errorCode": {"type": "string"},
    },
    "required": ["statusCode", "error", "message", "errorCode"],
}
ERRORS = {
    "400": "Invalid request body or query string.",
    "401": "Missing or invalid bearer token.",
    "403": "The token lacks the operation's scope.",
    "404": "No such object.",
    "405": "Method not allowed.",
    "409": "Conflicts with an existing object.",
    "503": "The service is temporarily unavailable (e.g. its database); retry after Retry-After seconds.",
}
ALWAYS = ("400", "401", "403", "404", "405", "503")
# Properties the serializers leave out when they have no value (their ``_omit`` calls).
OMITTED_WHEN_EMPTY = {
    "Client": ("third_party_security_mode",),
    "ClientWithSecret": ("third_party_security_mode",),
    "ResourceServer": ("client_id",),
    "ClientGrant": ("client_id", "default_for", "organization_usage", "scope"),
    "EnabledClients": ("next",),
    "Organization": ("display_name", "branding"),
    "OrganizationCreated": ("display_name", "branding", "enabled_connections"),
    "OrganizationMember": ("picture",),
    "OrganizationClientGrant": ("organization_usage",),
}
WRITES = frozenset({"post", "patch", "put", "delete"})


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _list_key(path: str) -> str:
    """``/api/v2/client-grants`` → ``client_grants``; ``/api/v2/connections/{id}/clients`` → ``clients``."""
    return path.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")


def _paged(array_schema: dict, key: str) -> dict:
    """A plain array, or with ``include_totals`` the array inside ``{start, limit, total, key}``,
    or with checkpoint paging (``from``/``take``) inside ``{key, next}``."""
    return {
        "anyOf": [
            array_schema,
            {
                "type": "object",
                "properties": {
                    "start": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "total": {"type": "integer"},
                    key: array_schema,
                },
                "required": ["start", "limit", "total", key],
            },
            {
                "type": "object",
                "properties": {key: array_schema, "next": {"type": "string"}},
                "required": [key],
            },
        ]
    }


def _without_required(schemas: dict, ref: str) -> str:
    """A copy of a component with no required property, for answers trimmed by ``fields``."""
    name = ref.rsplit("/", 1)[-1]
    partial = f"{name}Fields"
    if partial not in schemas:
        schemas[partial] = {key: value for key, value in schemas[name].items() if key != "required"}
        schemas[partial]["description"] = f"{name}, with only the properties `fields` selects."
    return f"#/components/schemas/{partial}"


def _allow_field_selection(schemas: dict, operation: dict) -> None:
    if not any(parameter.get("name") == "fields" for parameter in operation.get("parameters", [])):
        return
    schema = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    target = schema.get("items", schema)
    if "$ref" in target:
        target["$ref"] = _without_required(schemas, target["$ref"])


def add_errors_and_paging(result, generator, request, public):
    """``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name, optional in OMITTED_WHEN_EMPTY.items():
        if name in schemas and "required" in schemas[name]:
            schemas[name]["required"] = [field for field in schemas[name]["required"] if field not in optional]
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            codes = list(ALWAYS) + (["409"] if method in WRITES else [])
            for code in codes:
                responses.setdefault(code, _error_response(ERRORS[code]))
            _allow_field_selection(schemas, operation)
            ok = responses.get("200", {}).get("content", {}).get("application/json", {})
            if method == "get" and ok.get("schema", {}).get("type") == "array":
                ok["schema"] = _paged(ok["schema"], _list_key(path))
    return result
