"""Hypothesis strategies and checks for throwing bad input at any HTTP endpoint, and the checks
that it was refused cleanly. Reusable as they are for every endpoint that takes a form, a query
string or a JSON body:

* ``form_requests(base)``: a valid form (``base``) with parameters dropped, duplicated, replaced
  by junk (control characters, NUL, huge values, URLs no parser splits, wrong encodings), unknown
  ones added, and the body sent under several content types, some of them lying. With
  ``csrf=True`` the ``csrfmiddlewaretoken`` of ``base`` stays intact, so that the form behind
  Django's CSRF check is what gets fuzzed.
* ``query_strings(base)``: the same for a GET query string.
* ``json_requests(base)``: a valid JSON object with wrong types (lists and objects as often as
  scalars), nesting, duplicated keys, lone surrogates, truncation and broken UTF-8 (for JSON APIs
  such as dynamic client registration).
* ``VALUES``, ``WRONG_TYPES``, ``BAD_URLS``: the junk itself, for tests that build well-formed
  requests of junk values, so that every example gets past the parsing to the checks behind it.
* ``RowCounts``: the tables a refused request must not have written to; ``chain_is_intact()``: the
  audit log still verifies.

Where they are used: tests/fuzz/test_oauth_endpoints.py (``/authorize``, ``/oauth/token``,
``/oauth/revoke``, ``/oauth/introspect``, the consent form, the management API's JSON bodies),
tests/fuzz/test_registration.py (``/oidc/register`` and RFC 7592: ``json_requests`` and
``assert_json_error``) and tests/fuzz/test_portal_forms.py (every portal form:
``form_requests(..., csrf=True)``, ``assert_form_page`` and ``RowCounts``).
"""

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from oauthcore.audit_chain import seal, verify_chain

FORM = "application/x-www-form-urlencoded"
# URLs that URL parsers refuse to split (an unbalanced IPv6 bracket; a host that changes under NFKC
# normalization), that point elsewhere, or that run code.
BAD_URLS = [
    "https://[client.example/cb",
    "http://[::1/cb",
    "https://client\uff03.example/cb",
    "//evil.example/",
    "javascript:alert(1)",
]
# Values that have broken parsers before: empty, whitespace, control characters and NUL,
# separators of the encodings involved, long and very long values, non-ASCII.
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\r\n",
        "%",
        "%zz",
        "%00",
        "&",
        "=",
        "+",
        ";",
        "#",
        "?",
        "\\",
        "'",
        '"',
        "<script>",
        "null",
        "[]",
        "{}",
        "true",
        "0",
        "-1",
        "1e309",
        "\u202e",
        "\ud7ff",
        "é",
        "\U0001f600",
        "A" * 1_000,
        "B" * 70_000,
        *BAD_URLS,
    ]
)
TEXT = st.text(max_size=40)  # any Unicode, control characters and NUL included
VALUES = st.one_of(NASTY, TEXT)
EXTRA_NAMES = st.sampled_from(["", "x", "scope[]", "a b", "\x00", "é", "resource", "audience", "state", "nonce"])
# Django's CSRF form field: mangling it only ever tests the CSRF check, never the form behind it.
CSRF_FIELD = "csrfmiddlewaretoken"


@dataclass(frozen=True)
class RawRequest:
    content_type: str
    body: bytes

    def __repr__(self):  # what Hypothesis prints for a failing example
        return f"RawRequest({self.content_type!r}, {self.body[:300]!r}{'…' if len(self.body) > 300 else ''})"


@st.composite
def parameter_pairs(draw, base: dict, keep: frozenset = frozenset()) -> list[tuple[str, str]]:
    """``base``'s parameters, each kept, dropped, replaced, duplicated or emptied; plus extras.
    Parameters named in ``keep`` are always kept as they are, once."""
    pairs = []
    for name, value in base.items():
        if name in keep:
            pairs.append((name, value))
            continue
        action = draw(st.sampled_from(["keep", "keep", "drop", "replace", "duplicate", "duplicate_junk"]))
        if action == "keep":
            pairs.append((name, value))
        elif action == "replace":
            pairs.append((name, draw(VALUES)))
        elif action == "duplicate":
            pairs += [(name, value), (name, value)]
        elif action == "duplicate_junk":
            pairs += [(name, value), (name, draw(VALUES))]
    pairs += draw(st.lists(st.tuples(EXTRA_NAMES, VALUES), max_size=3))
    return draw(st.permutations(pairs))


def _encode(pairs, encoding: str) -> bytes:
    return urlencode(pairs, encoding=encoding, errors="replace").encode("ascii")


def _broken_encoding(pairs) -> bytes:
    """Percent-escapes that decode to invalid UTF-8, stray '%', raw non-ASCII bytes."""
    parts = []
    for name, value in pairs:
        parts.append(quote(name, safe="").encode() + b"=" + quote(value, safe="").encode() + b"%C3%28%ff%")
    return b"&".join(parts) + b"&\xff\xfe=%E2%82"


@st.composite
def form_requests(draw, base: dict, *, csrf: bool = False) -> RawRequest:
    """A form POST body, mangled. ``csrf``: keep any ``csrfmiddlewaretoken`` of ``base`` intact."""
    pairs = draw(parameter_pairs(base, frozenset({CSRF_FIELD}) if csrf else frozenset()))
    how = draw(st.sampled_from(["form", "form", "latin-1", "broken", "as_json", "as_text", "multipart_junk"]))
    if how == "form":
        return RawRequest(FORM, _encode(pairs, "utf-8"))
    if how == "latin-1":
        return RawRequest(f"{FORM}; charset=latin-1", _encode(pairs, "latin-1"))
    if how == "broken":
        return RawRequest(FORM, _broken_encoding(pairs))
    if how == "as_json":
        return RawRequest("application/json", draw(json_bodies(dict(pairs))))
    if how == "as_text":
        return RawRequest("text/plain", _encode(pairs, "utf-8"))
    return RawRequest(
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nContent-Disposition: form-data\r\n\r\n" + _encode(pairs, "utf-8"),
    )


@st.composite
def query_strings(draw, base: dict) -> str:
    """A query string (without ``?``), mangled like a form body."""
    pairs = draw(parameter_pairs(base))
    if draw(st.booleans()):
        return _encode(pairs, "utf-8").decode()
    return _broken_encoding(pairs).decode("latin-1")


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), VALUES)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
# A value of the wrong type as often as a scalar: code that expects a string and gets a list or an
# object (unhashable) fails differently from code that gets a number.
WRONG_TYPES = st.one_of(
    JSON_SCALARS, st.lists(JSON_SCALARS, max_size=3), st.dictionaries(TEXT, JSON_SCALARS, max_size=3), JSON_VALUES
)
LONE_SURROGATE = "\ud800"  # valid in JSON text (an escape, RFC 8259 §8.2), but no UTF-8 string can hold it


def _with_lone_surrogate(value):
    if isinstance(value, str):
        return value + LONE_SURROGATE
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value[0] + LONE_SURROGATE, *value[1:]]
    return LONE_SURROGATE


@st.composite
def json_bodies(draw, base: dict) -> bytes:
    """A JSON body: ``base`` with values of the wrong type, duplicated keys, a lone surrogate, or not
    JSON at all."""
    data = {name: draw(st.one_of(st.just(value), WRONG_TYPES)) for name, value in base.items()}
    how = draw(
        st.sampled_from(
            ["object", "object", "duplicate_keys", "lone_surrogate", "not_an_object", "truncated", "bad_utf8"]
        )
    )
    if how == "lone_surrogate" and base:
        name = draw(st.sampled_from(sorted(base)))
        data[name] = _with_lone_surrogate(base[name])
    text = json.dumps(data)  # ensure_ascii: a surrogate is sent as its \uXXXX escape
    if how == "duplicate_keys" and base:
        name = draw(st.sampled_from(sorted(base)))
        text = text[:-1] + ("," if data else "") + f"{json.dumps(name)}: {json.dumps(draw(JSON_VALUES))}" + "}"
    elif how == "not_an_object":
        text = json.dumps(draw(st.one_of(JSON_SCALARS, st.lists(JSON_SCALARS, max_size=3))))
    elif how == "truncated":
        text = text[: max(0, len(text) - draw(st.integers(1, 5)))]
    elif how == "bad_utf8":
        return text.encode() + b"\xff\xfe"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def json_requests(draw, base: dict) -> RawRequest:
    content_type = draw(
        st.sampled_from(["application/json", "application/json", "application/json; charset=utf-8", FORM])
    )
    return RawRequest(content_type, draw(json_bodies(base)))


# -- checks -------------------------------------------------------------------------------------------


def assert_json_error(response, allowed_errors: set[str], statuses: set[int]) -> dict:
    """An error in the RFC 6749 §5.2 shape: ``error`` (one of ``allowed_errors``), optionally
    ``error_description`` and ``error_uri``, nothing else."""
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:300])
    body = json.loads(response.content)
    # oauthlib echoes a request's `state` in errors too; nothing else may appear.
    assert isinstance(body, dict) and set(body) <= {"error", "error_description", "error_uri", "state"}, body
    assert body.get("error") in allowed_errors, body
    assert isinstance(body.get("error_description", ""), str), body
    if response.status_code == 429:
        assert int(response["Retry-After"]) >= 1
    return body


def assert_form_page(response) -> None:
    """A form answered as a person expects: the page again (with errors), a redirect, a page showing
    what was just created (201, e.g. a new app and its secret), or 429."""
    assert response.status_code in {200, 201, 302, 303, 400, 403, 429}, (response.status_code, response.content[:500])


class RowCounts:
    """How many rows some tables hold; ``assert_unchanged`` after a refused request."""

    def __init__(self, *models):
        self.models = models
        self.before = self.snapshot()

    def snapshot(self) -> dict:
        return {model._meta.label: model.objects.count() for model in self.models}

    def assert_unchanged(self) -> None:
        after = self.snapshot()
        assert after == self.before, f"a refused request wrote rows: {self.before} -> {after}"


def chain_is_intact() -> None:
    """The audit log's hash chain still verifies after everything the fuzzing wrote (sealed first)."""
    seal()
    assert verify_chain().intact, verify_chain().problems
