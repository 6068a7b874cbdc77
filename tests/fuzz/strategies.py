"""Hypothesis strategies and checks for throwing bad input at any HTTP endpoint, and the checks
that it was refused cleanly. Reusable as they are for every endpoint that takes a form, a query
string or a JSON body:

* ``form_requests(base)``: a valid form (``base``) with parameters dropped, duplicated, replaced
  by junk (control characters, NUL, huge values, wrong encodings), unknown ones added, and the
  body sent under several content types, some of them lying.
* ``query_strings(base)``: the same for a GET query string.
* ``json_requests(base)``: a valid JSON object with wrong types, nesting, duplicated keys,
  truncation and broken UTF-8 (for JSON APIs such as dynamic client registration).
* ``RowCounts``: the tables a refused request must not have written to.

How the endpoints still to come take them (see tests/fuzz/test_oauth_endpoints.py for the
pattern):

* ``POST /oidc/register``: ``@given(json_requests(VALID_METADATA))``, send with
  ``client.generic("POST", "/oidc/register", raw.body, content_type=raw.content_type)``, then
  ``assert_json_error(response, REGISTRATION_ERRORS, statuses={400, 401, 403, 429})`` for
  anything but 201, and ``RowCounts(Application).assert_unchanged()`` when refused.
* portal forms: ``@given(form_requests(VALID_FORM, csrf=True))`` with a logged-in client, then
  ``assert_form_page(response)`` (a 200 page with field errors, a 302 on success, a 429 when
  limited) and ``RowCounts(...)`` for the rows the form writes.
"""

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

FORM = "application/x-www-form-urlencoded"
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
    ]
)
TEXT = st.text(max_size=40)  # any Unicode, control characters and NUL included
VALUES = st.one_of(NASTY, TEXT)
EXTRA_NAMES = st.sampled_from(["", "x", "scope[]", "a b", "\x00", "é", "resource", "audience", "state", "nonce"])


@dataclass(frozen=True)
class RawRequest:
    content_type: str
    body: bytes

    def __repr__(self):  # what Hypothesis prints for a failing example
        return f"RawRequest({self.content_type!r}, {self.body[:300]!r}{'…' if len(self.body) > 300 else ''})"


@st.composite
def parameter_pairs(draw, base: dict) -> list[tuple[str, str]]:
    """``base``'s parameters, each kept, dropped, replaced, duplicated or emptied; plus extras."""
    pairs = []
    for name, value in base.items():
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
    pairs = draw(parameter_pairs(base))
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


@st.composite
def json_bodies(draw, base: dict) -> bytes:
    """A JSON body: ``base`` with values of the wrong type, duplicated keys, or not JSON at all."""
    data = {name: draw(st.one_of(st.just(value), JSON_VALUES)) for name, value in base.items()}
    how = draw(st.sampled_from(["object", "object", "duplicate_keys", "not_an_object", "truncated", "bad_utf8"]))
    text = json.dumps(data)
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
    """A form answered as a person expects: the page again (with errors), a redirect, or 429."""
    assert response.status_code in {200, 302, 303, 400, 403, 429}, (response.status_code, response.content[:500])


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
