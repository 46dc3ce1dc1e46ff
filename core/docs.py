"""The API docs page (Swagger UI at /api/v1/docs): its files from a pinned package, so it works with no CDN, and
started by a script file (core/static/swagger-start.js) rather than flask-smorest's inline one, so the page runs
under the same strict Content-Security-Policy as every other (core/guards.py). The operations' summaries and
descriptions come from the views' docstrings, written in the house's reStructuredText; the spec gets them as
Markdown (``PlainTextDocs``), which is what Swagger UI shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from apispec import BasePlugin
from flask import Flask, current_app, render_template_string, send_from_directory, url_for
from flask.typing import ResponseReturnValue

STATIC = Path(__file__).resolve().parent / "static"
STARTER = "swagger-start.js"
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<link rel="stylesheet" href="{{ ui }}swagger-ui.css">
</head>
<body>
<div id="swagger-ui-container" data-spec-url="{{ spec_url }}"></div>
<script src="{{ ui }}swagger-ui-bundle.js"></script>
<script src="{{ ui }}{{ starter }}"></script>
</body>
</html>
"""


_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`([^`]+)`")


def _role_text(match: re.Match[str]) -> str:
    """``:func:`~a.b``` is `b`; ``:ref:`title <target>``` is `title`; else the target as written."""
    target = match.group(1)
    titled = re.fullmatch(r"(.+?)\s*<[^>]+>", target)
    if titled:
        return f"`{titled.group(1)}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target.lstrip('!')}`"


def markdown_of(text: str) -> str:
    """A docstring's reStructuredText inline markup as Markdown: ``x`` and :role:`x` become `x`."""
    return _LITERAL.sub(r"`\1`", _ROLE.sub(_role_text, text))


class PlainTextDocs(BasePlugin):
    """An apispec plugin: each operation's summary and description as Markdown, not the docstring's RST."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            for key in ("summary", "description"):
                if isinstance(operation.get(key), str):
                    operation[key] = markdown_of(operation[key])


def swagger_ui_static(filename: str) -> ResponseReturnValue:
    """Swagger UI's files, and the starter beside them."""
    if filename == STARTER:
        return send_from_directory(STATIC, STARTER)
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def docs_page() -> ResponseReturnValue:
    """Swagger UI on the app's OpenAPI description."""
    config = current_app.config
    return render_template_string(
        PAGE,
        title=config["API_TITLE"],
        ui=config["OPENAPI_SWAGGER_UI_URL"],
        spec_url=url_for("api-docs.openapi_json"),
        starter=STARTER,
    )


def install(app: Flask) -> None:
    """Serve Swagger UI's files and put this page in place of flask-smorest's (after ``api.init_app``)."""
    app.add_url_rule("/static/swagger-ui/<path:filename>", "swagger_ui_static", swagger_ui_static)
    app.view_functions["api-docs.openapi_swagger_ui"] = docs_page
