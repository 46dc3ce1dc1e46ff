"""The API docs: every operation's summary and description is Markdown, never the docstrings' reStructuredText."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import create_app
from core.docs import markdown_of

RST = re.compile(r"``|:[a-z]+(?::[a-z]+)?:`")  # a literal ``x``, or a role :func:`x` / :py:func:`x`


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})
    return app.test_client().get("/api/v1/openapi.json").get_json()  # type: ignore[no-any-return]


def test_no_operation_shows_restructuredtext_in_the_docs(spec):
    texts = [
        (f"{method.upper()} {path} {key}", operation[key])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for key in ("summary", "description")
        if key in operation
    ]

    assert texts, "the spec has no summaries: the walk found nothing"
    assert [(where, text) for where, text in texts if RST.search(text)] == []


def test_nothing_else_in_the_spec_shows_restructuredtext_either(spec):
    # tags, parameters' and fields' descriptions: written by hand in metadata, so kept plain at the source
    assert RST.findall(json.dumps(spec)) == []


def test_docstrings_still_in_restructuredtext_reach_the_docs_as_markdown(spec):
    members = spec["paths"]["/api/v1/members"]["get"]

    assert "`q` tolerates misspellings" in members["summary"]
    assert "`status=in_arrears,lapsed`" in members["description"]


@pytest.mark.parametrize(
    ("rst", "markdown"),
    [
        ("name (``q``)", "name (`q`)"),
        ("see :func:`owed_now`", "see `owed_now`"),
        ("see :func:`~collection.members.chase.owed_now`", "see `owed_now`"),
        ("see :py:class:`Month`", "see `Month`"),
        ("see :ref:`the list <chase-list>`", "see `the list`"),
        ("``a`` and ``b``", "`a` and `b`"),
        ("plain text, `already` Markdown", "plain text, `already` Markdown"),
    ],
)
def test_restructuredtext_inline_markup_becomes_markdown(rst, markdown):
    assert markdown_of(rst) == markdown
    assert not RST.search(markdown_of(rst))
