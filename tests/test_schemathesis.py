"""Schemathesis against the OpenAPI, in-process (WSGI), with each role's token: no 5xx, and every answer as documented.

Every operation is tried as nobody, branch A's agent, supervisor and finance, and an admin, with a bounded number of
generated requests (valid and invalid ones; ``SCHEMATHESIS_EXAMPLES`` each, 6 by default), derandomized so a CI run
is the same every time. Each valid request whose path names an object is sent a second time with branch A's real
ids (tests/two_branches.py), so the generated bodies and queries reach the services, not only the 404s.

Checks: no server error, the status code documented, the content type documented, and the body matching the
documented schema. Not checked: ``response_headers_conformance`` (flask-smorest documents X-Pagination as an object
but sends it as JSON text), and whether a schema-valid request is accepted or a schema-invalid one refused (the
services' rules, such as a date range or a month in the past, are beyond what the schema says).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from tests.test_access_matrix import path_values
from tests.two_branches import app_with_two_branches

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
ROLES = ("anonymous", "agent_a", "supervisor_a", "finance_a", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _labels() -> list[str]:
    """Every operation's label ("GET /api/v1/members"), read from the app's OpenAPI at collection."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    methods = {"get", "post", "put", "patch", "delete"}
    return [f"{m.upper()} {path}" for path, item in spec["paths"].items() for m in item if m in methods]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """Two branches of objects on one database; the schema loaded from the app itself."""
    with app_with_two_branches(request, request.param, tmp_path_factory.mktemp("fuzz")) as (app, world):
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), world


def _run(operation: Any, mode: GenerationMode, headers: dict[str, str], real_ids: dict[str, Any] | None) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # The WSGI client does not decode a compressed body as an HTTP client would (compression has its own tests:
        # tests/core/test_compression.py), so the answers are asked for plain.
        headers_plain = headers | {"Accept-Encoding": "identity"}
        case.call_and_validate(headers=headers_plain, checks=CHECKS)
        if real_ids and case.path_parameters:
            case.path_parameters = {name: real_ids[name] for name in case.path_parameters}
            case.call_and_validate(headers=headers_plain, checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", _labels())
def test_the_operation_never_fails_on_our_side_and_answers_as_documented(fuzzed, label, role):
    schema, world = fuzzed
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    headers = {} if role == "anonymous" else world.staff[role].headers
    real_ids = path_values(world, f"{method} {path.removeprefix('/api/v1')}")

    _run(operation, GenerationMode.POSITIVE, headers, real_ids)
    _run(operation, GenerationMode.NEGATIVE, headers, None)
