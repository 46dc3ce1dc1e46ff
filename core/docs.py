"""The API docs page (Swagger UI at /api/v1/docs): its files from a pinned package, so it works with no CDN, and
started by a script file (core/static/swagger-start.js) rather than flask-smorest's inline one, so the page runs
under the same strict Content-Security-Policy as every other (core/guards.py)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
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
