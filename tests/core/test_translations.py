"""One way to translate: gettext catalogs per package, complete, and money, months and times in the reader's form."""

from __future__ import annotations

import ast
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
GETTEXT_NAMES = {"gettext", "pgettext", "ngettext", "npgettext", "lazy_gettext", "lazy_pgettext", "lazy_ngettext", "_"}


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


def test_every_error_a_reader_gets_is_translated() -> None:
    """An error's message is written for whoever sent the request, in his language: a text (or f-string) given to
    an error as it is reaches an Indonesian page in English. Pass it through gettext (or a function that does)."""
    untranslated = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = ERRORS_BY_MESSAGE_ARGUMENT.get(name or "")
            if position is None or len(node.args) <= position:
                continue
            message = node.args[position]
            if isinstance(message, ast.JoinedStr) or (
                isinstance(message, ast.Constant) and isinstance(message.value, str)
            ):
                untranslated.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert untranslated == []
