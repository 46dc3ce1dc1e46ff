"""Query arguments are validated like bodies: every query parameter the OpenAPI publishes, sent a bad value, is a 422
in the one error envelope naming it; an argument an operation does not take is a 422 naming it too.

The parameters are read from the app's OpenAPI at collection (as tests/test_schemathesis.py reads its operations),
so a new parameter is walked without a line here. Each is sent by a caller the access matrix lets in
(tests/test_access_matrix.py MATRIX) with the path filled from branch A's objects, so the answer is the argument's,
not a 401, 403 or 404. Validation does not depend on the database: the world is built on SQLite only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from app import create_app
from core.query_arguments import EVERYWHERE
from tests.test_access_matrix import CALLERS, MATRIX, OK, path_values
from tests.two_branches import app_with_two_branches

TRIED_IN_TURN = ("admin", "supervisor_a", "finance_a", "agent_a")  # the first the matrix lets in sends the request
METHODS = ("get", "post", "put", "patch", "delete")
_NOT_MATCHING = ("x", "12ab", "!", "2026-3", "")  # bad values tried against a parameter's pattern, in turn


def _spec() -> dict[str, Any]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})
    return app.test_client().get("/api/v1/openapi.json").get_json()  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path.removeprefix('/api/v1')}", item[method]


def _query_parameters(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """(operation, parameter name, its schema, the operation's required query parameters) for every query
    parameter the spec publishes."""
    found = []
    for operation, item in _operations(spec):
        query = [p for p in item.get("parameters", []) if p.get("in") == "query"]
        required = [p["name"] for p in query if p.get("required")]
        found += [(operation, p["name"], p.get("schema", {}), required) for p in query]
    return found


def bad_value(schema: dict[str, Any]) -> str | None:
    """A value the parameter's published schema refuses, or None when the schema refuses nothing."""
    if "enum" in schema:
        return "no-such-choice"
    if schema.get("type") in ("integer", "number"):
        return "twelve"
    if schema.get("type") == "boolean":
        return "maybe"
    if schema.get("format") == "date":
        return "22-11-2026"
    if schema.get("format") == "date-time":
        return "yesterday"
    if "pattern" in schema:
        return next(v for v in _NOT_MATCHING if not re.search(schema["pattern"], v))
    if schema.get("minLength", 0) > 1:
        return "x"
    if "maxLength" in schema:
        return "x" * (schema["maxLength"] + 1)
    return None


SPEC = _spec()
PARAMETERS = _query_parameters(SPEC)
OPERATIONS = [operation for operation, _ in _operations(SPEC)]


def caller_for(operation: str) -> str:
    """The first of TRIED_IN_TURN whom the access matrix lets call ``operation``."""
    row = MATRIX[operation]
    return next(caller for caller in TRIED_IN_TURN if row[CALLERS.index(caller)] == OK)


def send(app: Any, world: Any, operation: str, query: dict[str, str], caller: str | None = None) -> Any:
    method, template = operation.split(" ", 1)
    caller = caller or caller_for(operation)
    path = "/api/v1" + template.format(**path_values(world, operation))
    return app.test_client().open(path, method=method, query_string=query, headers=world.staff[caller].headers)


@pytest.fixture(scope="module")
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    with app_with_two_branches(request, "sqlite", tmp_path_factory.mktemp("query")) as (app, world):
        yield app, world


def test_every_query_parameter_publishes_what_it_accepts():
    vague = [f"{operation} ?{name}" for operation, name, schema, _ in PARAMETERS if bad_value(schema) is None]

    assert vague == [], "give these a type, format, pattern, enum or length in their schema (metadata)"


@pytest.mark.parametrize(
    ("operation", "name", "schema", "required"), [pytest.param(*p, id=f"{p[0]} ?{p[1]}") for p in PARAMETERS]
)
def test_a_bad_value_of_a_query_parameter_is_a_422_naming_it(fuzzed, operation, name, schema, required):
    app, world = fuzzed
    value = bad_value(schema)
    others = {other: str(path_values(world, operation)[other]) for other in required if other != name}

    response = send(app, world, operation, others | {name: value})

    assert response.status_code == 422, (value, response.get_json())
    body = response.get_json()
    assert set(body["errors"]["query"]) == {name}, body
    assert {"code", "status", "message", "errors"} <= body.keys() and body["code"] == 422
    messages = body["errors"]["query"][name]
    assert messages and all(isinstance(m, str) and m.endswith(".") for m in messages), messages


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_argument_the_operation_does_not_take_is_a_422_naming_it(fuzzed, operation):
    app, world = fuzzed

    response = send(app, world, operation, {"stauts": "lapsed"})

    assert response.status_code == 422, response.get_json()
    [message] = response.get_json()["errors"]["query"]["stauts"]
    assert "'stauts'" in message


def test_the_message_names_the_arguments_the_operation_takes(fuzzed):
    app, world = fuzzed

    response = send(app, world, "GET /members", {"NIK": "1971011201900001"})

    [message] = response.get_json()["errors"]["query"]["NIK"]
    assert "nik" in message and "status" in message and "page_size" in message


def test_the_language_is_an_argument_of_every_operation(fuzzed):
    app, world = fuzzed

    assert EVERYWHERE == {"lang"}
    assert send(app, world, "GET /rates", {"lang": "en"}).status_code == 200
    assert send(app, world, "GET /members", {"lang": "id", "page_size": "5"}).status_code == 200


def test_pages_are_not_api_operations_and_keep_their_own_arguments(fuzzed):
    client = fuzzed[0].test_client()

    assert client.get("/api/v1/openapi.json?download=1").status_code == 200
    assert client.get("/agen/masuk?next=%2Fagen%2F").status_code == 200
    # a provider's callback is not an operation of the spec: whatever it appends to the address is its own business
    assert client.post("/webhooks/no-such-provider?attempt=2", data=b"{}").status_code == 404
