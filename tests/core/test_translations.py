"""One way to translate: gettext catalogs per package, complete, and money, months and times in the reader's form."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from core.i18n import CATALOG_PACKAGES, compile_catalogs, day_label, label, month_label, rupiah, time_label
from core.months import Month

ROOT = Path(__file__).resolve().parents[2]
GETTEXT_NAMES = {
    *("gettext", "pgettext", "ngettext", "npgettext", "lazy_gettext", "lazy_pgettext", "lazy_ngettext", "_", "N_"),
}


def test_every_text_in_the_code_has_its_indonesian() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/translations.py", "check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _python_files() -> list[Path]:
    return [p for package in CATALOG_PACKAGES for p in (ROOT / package).rglob("*.py")] + [ROOT / "app.py"]


def test_no_text_is_translated_inside_an_f_string() -> None:
    """The extractor does not look inside f-strings: a text translated there never reaches the catalog."""
    hidden = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.JoinedStr):
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and getattr(call.func, "id", None) in GETTEXT_NAMES:
                        hidden.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert hidden == []


def test_every_translated_text_is_a_literal() -> None:
    """``gettext(a if x else b)`` or ``gettext(name)`` cannot be extracted: each text is written where it is used."""
    dynamic = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in GETTEXT_NAMES and node.args:
                texts = node.args[1:2] if getattr(node.func, "id", "").endswith("pgettext") else node.args[:1]
                if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in texts):
                    dynamic.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert dynamic == []


def test_the_catalogs_compile_when_missing_or_older_than_their_source(tmp_path: Path) -> None:
    source = ROOT / "agents" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
    target = tmp_path / "agents" / "translations" / "id" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "messages.po").write_bytes(source.read_bytes())

    first = compile_catalogs(tmp_path)
    again = compile_catalogs(tmp_path)

    assert first == [target / "messages.mo"] and again == []
    assert (target / "messages.mo").stat().st_size > 1000


@pytest.mark.parametrize(
    ("lang", "money", "month", "day", "moment"),
    [
        ("id", "Rp1.234.500", "Des 2026", "5 Agu 2026", "5 Des 2026 10.29 WIB"),
        ("en", "Rp1,234,500", "Dec 2026", "5 Aug 2026", "5 Dec 2026 10:29 WIB"),
    ],
)
def test_money_months_days_and_times_are_written_in_the_readers_form(
    lang: str, money: str, month: str, day: str, moment: str
) -> None:
    app = Flask(__name__)
    with app.test_request_context(f"/agen/?lang={lang}"):
        assert rupiah(1_234_500) == money and rupiah(None) == "Rp0"
        assert month_label(Month(2026, 12)) == month
        assert day_label(date(2026, 8, 5)) == day
        assert time_label(datetime(2026, 12, 5, 3, 29, 54), "Asia/Jakarta") == moment
        assert time_label(datetime(2026, 12, 5, 3, 29, 54), "Asia/Jayapura").endswith(" WIT")


def test_a_page_and_the_api_choose_their_language(app: Flask) -> None:
    """Pages: ?lang=, the cookie, else Indonesian. The API: ?lang=, the cookie, Accept-Language, else English."""
    from core.i18n import language

    cases = [
        ("/agen/", {}, "id"),
        ("/agen/?lang=en", {}, "en"),
        ("/agen/", {"Accept-Language": "en"}, "id"),  # a phone in English still gets the agents' app in Indonesian
        ("/api/v1/members", {}, "en"),
        ("/api/v1/members", {"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"}, "id"),
        ("/api/v1/members?lang=id", {"Accept-Language": "en"}, "id"),
    ]
    for path, headers, expected in cases:
        with app.test_request_context(path, headers=headers):
            app.preprocess_request()
            assert language() == expected, path


def test_a_stored_value_is_worded_in_the_readers_language(app: Flask) -> None:
    with app.test_request_context("/agen/?lang=id"):
        app.preprocess_request()
        assert label("member_status", "in_arrears") == "Menunggak"
        assert label("member_status", "something_new") == "something_new"  # shown as stored, never a 500
    with app.test_request_context("/agen/?lang=en"):
        app.preprocess_request()
        assert label("member_status", "in_arrears") == "In arrears"


def test_the_api_answers_in_the_language_the_client_asks_for(client: Any, world: Any) -> None:
    """English by default; Accept-Language: id (or ?lang=id) gives the same 422 in Indonesian."""
    headers = world["finance"].headers
    english = client.get("/api/v1/members", query_string={"page": "x"}, headers=headers).get_json()
    indonesian = client.get(
        "/api/v1/members", query_string={"page": "x"}, headers=headers | {"Accept-Language": "id-ID,id;q=0.9"}
    ).get_json()

    assert english["message"].startswith("The request has invalid fields")
    assert english["errors"]["query"]["page"] == [
        "Not a whole number: write digits only (in JSON, a number without quotes), e.g. 12."
    ]
    assert indonesian["message"].startswith("Ada isian yang tidak sah")
    assert indonesian["errors"]["query"]["page"] == [
        "Bukan bilangan bulat: tulis angka saja (di JSON, angka tanpa tanda kutip), misalnya 12."
    ]


ERRORS_BY_MESSAGE_ARGUMENT = {  # the error constructors of core/errors.py, and where each takes its message
    **dict.fromkeys(
        ("DomainError", "NotFound", "Conflict", "Forbidden", "Unauthorized", "BadRequest", "PayloadTooLarge"), 0
    ),
    **dict.fromkeys(("ServiceUnavailable", "TooManyRequests", "Gone"), 0),
    **dict.fromkeys(("field_error", "query_error"), 1),
}


def _is_bare_text(node: ast.AST) -> bool:
    """A text written as it is: a string, an f-string, ``"…".format(…)``, ``"…" % …`` or texts added together (a
    piece with no word but a field's name in it, `` (month=2026-13)`` after a translated text, is not a text)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(ch.isalpha() for ch in re.sub(r"\w+=", "", node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_bare_text(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_bare_text(node.func.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _is_bare_text(node.left)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_bare_text(node.left) or _is_bare_text(node.right)
    return False


def _bare_texts(node: ast.AST) -> list[ast.AST]:
    """The texts written as they are among field messages: dict values (never keys, the fields' names), list items,
    both sides of a conditional, a comprehension's items."""
    if _is_bare_text(node):
        return [node]
    if isinstance(node, ast.Dict):
        return [t for value in node.values for t in _bare_texts(value)]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [t for item in node.elts for t in _bare_texts(item)]
    if isinstance(node, ast.DictComp):
        return _bare_texts(node.value)
    if isinstance(node, ast.ListComp | ast.SetComp):
        return _bare_texts(node.elt)
    if isinstance(node, ast.IfExp):
        return _bare_texts(node.body) + _bare_texts(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [t for value in node.values for t in _bare_texts(value)]
    return []


def _filled_in(scope: ast.AST, name: str) -> list[ast.AST]:
    """What a function puts into a dict or list named ``name``: ``name = …``, ``name[k] = …``,
    ``name.setdefault(k, …)``, ``name.append(…)``, ``name[k].append(…)``, ``name.update(…)``."""
    values: list[ast.AST] = []

    def named(target: ast.AST) -> bool:
        while isinstance(target, ast.Subscript | ast.Attribute | ast.Call):
            target = target.func if isinstance(target, ast.Call) else target.value
        return isinstance(target, ast.Name) and target.id == name

    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and any(named(t) for t in node.targets):
            values.append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None and named(node.target):
            values.append(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "extend", "update", "setdefault", "insert")
            and named(node.func.value)
        ):
            values.extend(node.args[1:] if node.func.attr in ("setdefault", "insert") else node.args)
    return values


ERROR_CONSTRUCTORS = {*ERRORS_BY_MESSAGE_ARGUMENT, "ValidationError"}


def _untranslated_errors(path: Path) -> list[str]:
    found: list[ast.AST] = []
    tree = ast.parse(path.read_text(), str(path))
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for scope in [tree, *scopes]:
        for node in ast.walk(scope) if scope is not tree else ast.iter_child_nodes(scope):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None) or ""
            if name not in ERROR_CONSTRUCTORS:
                continue
            position = ERRORS_BY_MESSAGE_ARGUMENT.get(name, 0)
            if len(node.args) > position:
                message = node.args[position]
                found += [message] if _is_bare_text(message) else []
                if isinstance(message, ast.Name) and scope is not tree:  # message = "…"; raise DomainError(message)
                    found += [v for v in _filled_in(scope, message.id) if _is_bare_text(v)]
                if name == "ValidationError":  # ValidationError({"field": ["…"]}) or ValidationError(["…"])
                    found += [t for t in _bare_texts(message) if t is not message]
            for keyword in node.keywords:
                if keyword.arg not in ("errors", "message"):
                    continue
                found += _bare_texts(keyword.value)
                if isinstance(keyword.value, ast.Name) and scope is not tree:
                    found += [t for value in _filled_in(scope, keyword.value.id) for t in _bare_texts(value)]
                # errors={"json": problems}: the dict's own values named by a variable of the function
                if isinstance(keyword.value, ast.Dict) and scope is not tree:
                    for value in ast.walk(keyword.value):
                        if isinstance(value, ast.Name):
                            found += [t for v in _filled_in(scope, value.id) for t in _bare_texts(v)]
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    return [f"{where}:{line}" for line in sorted({node.lineno for node in found})]


def test_every_error_a_reader_gets_is_translated() -> None:
    """An error's message is written for whoever sent the request, in his language: a text (or f-string) given to
    an error as it is reaches an Indonesian page in English. Pass it through gettext (or a function that does).
    The same holds for its field messages (``errors={"json": {"to": ["…"]}}``, a dict the function fills in) and
    for a schema's ``ValidationError("…")`` or ``ValidationError({"field": ["…"]})``."""
    untranslated = [where for path in _python_files() for where in _untranslated_errors(path)]
    assert untranslated == []


def test_the_check_for_untranslated_errors_finds_them(tmp_path: Path) -> None:
    """The check above can fail: each way of writing an English field message is found."""
    source = tmp_path / "sample.py"
    source.write_text(
        "def a(n):\n"
        "    raise DomainError(gettext('No.'), errors={'query': {'to': [f'at most {n} months']}})\n"
        "def b():\n"
        "    problems = {}\n"
        "    problems['name'] = 'missing'\n"
        "    problems.setdefault('kpj', []).append('too long: {}'.format(3))\n"
        "    raise DomainError(gettext('No.'), errors={'json': problems})\n"
        "def c(value):\n"
        "    raise ValidationError('Write it in letters.')\n"
        "def d():\n"
        "    raise ValidationError({'nik': ['16 digits']})\n"
        "def f(n):\n"
        "    message = f'The agent {n} cannot be enrolled.'\n"
        "    raise DomainError(message, errors={'json': {'n': [gettext('No.') + f' (n={n})']}})\n"
        "def e():\n"
        "    raise DomainError(gettext('No.'), errors={'json': {'nik': [gettext('16 digits')]}})\n"
    )
    assert _untranslated_errors(source) == [
        "sample.py:2",
        "sample.py:5",
        "sample.py:6",
        "sample.py:9",
        "sample.py:11",
        "sample.py:13",
    ]
