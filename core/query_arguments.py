"""The API's query arguments: one an operation does not take is a 422 naming it, as a body's unknown field is.

webargs, under flask-smorest, drops unknown query arguments silently, so a misspelt filter (``?stauts=lapsed``,
``?NIK=…``) answered 200 with the whole unfiltered list. Which arguments an operation takes is what its OpenAPI
description publishes (its query schema and its paging), read once from the app's spec, so this check cannot drift
from the docs. ``lang`` (the reader's language, core/i18n.py) is taken by every request.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin

from core.errors import DomainError, invalid_fields

EVERYWHERE = frozenset({"lang"})
_KEY = "query_arguments"
METHODS = ("get", "post", "put", "patch", "delete")


def unknown_argument_message(name: str, taken: list[str]) -> str:
    """The field message for a query argument the operation does not take, saying which ones it does."""
    if not taken:
        return gettext("This operation takes no query arguments: leave '%(name)s' out.", name=name)
    return gettext(
        "'%(name)s' is not a query argument of this operation: it takes %(taken)s. Check the spelling.",
        name=name,
        taken=", ".join(taken),
    )


def documented_arguments(api: Api) -> dict[tuple[str, str], frozenset[str]]:
    """Each operation's query arguments, by (OpenAPI path, method), as its description publishes them."""
    taken: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in api.spec.to_dict()["paths"].items():
        shared = [p for p in item.get("parameters", []) if p.get("in") == "query"]
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            names = {p["name"] for p in [*shared, *operation.get("parameters", [])] if p.get("in") == "query"}
            taken[(path, method.upper())] = frozenset(names)
    return taken


def install(app: Flask, api: Api) -> None:
    """Refuse, before the view runs, a query argument the API operation asked for does not take (after the API's
    blueprints are registered: the table is read from the spec now, this app's, as ``api`` serves every app)."""
    app.extensions[_KEY] = documented_arguments(api)

    def refuse_unknown_arguments() -> None:
        rule = request.url_rule
        if rule is None or not request.args:
            return
        taken = current_app.extensions[_KEY].get((FlaskPlugin.flaskpath2openapi(rule.rule), request.method))
        if taken is None:  # not an API operation (a page, the docs, the spec itself)
            return
        unknown = sorted(set(request.args) - taken - EVERYWHERE)
        if unknown:
            listed = sorted(taken)
            errors = {name: [unknown_argument_message(name, listed)] for name in unknown}
            raise DomainError(invalid_fields(), errors={"query": errors})

    app.before_request(refuse_unknown_arguments)
