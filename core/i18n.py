"""The two languages, Bahasa Indonesia (default) and English, through gettext (Flask-Babel): every text a page or
an API message shows is written in English in the code (``gettext("…")``, ``_("…")`` in templates) and translated
by the Indonesian catalog of the package it belongs to (``<package>/translations/id/LC_MESSAGES/messages.po``,
compiled to ``.mo`` when the app starts; ``make translations`` extracts new texts into the catalogs). Money, months,
dates and times are written by Babel in the reader's form: ``Rp16.800``, ``Des 2026``, ``5 Des 2026 10.29 WIB``.

The language is ``?lang=`` (kept in a cookie), else the ``lang`` cookie; else, for the API, the request's
Accept-Language, else English; else Bahasa Indonesia. Words that depend on a stored value (a status, a kind) are
families of lazy texts each package names (its ``texts.LABELS``, registered by app.py) and pages look up (``label``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel, get_translations

from core.months import Month

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
API_LANGUAGE = "en"  # the API's, without ?lang= or Accept-Language: what integrators and the API docs read
CATALOG_PACKAGES = ("core", "organisation", "collection", "payments", "agents")  # each may hold translations/
UTC = ZoneInfo("UTC")

Labels = dict[str, dict[str, Any]]  # family -> stored value -> its lazy text (lazy_gettext)
_LABELS: Labels = {}


def language() -> str:
    """The request's language: ``?lang=``, else the ``lang`` cookie, else (the API) Accept-Language or English,
    else Bahasa Indonesia. Outside a request (jobs, texts to members): Bahasa Indonesia."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = getattr(g, "lang", None) or request.args.get("lang") or request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES) or API_LANGUAGE
    return DEFAULT_LANGUAGE


def register(labels: Labels) -> None:
    """Name the lazy texts of families of stored values (each package's ``texts.LABELS``); a family once."""
    for family, words in labels.items():
        if _LABELS.get(family, words) is not words:
            raise ValueError(f"two packages name the words of {family!r}")
        _LABELS[family] = words


def label(family: str, value: object) -> str:
    """The reader's word for ``value`` of ``family`` (register); an unknown value is shown as it is stored."""
    word = _LABELS[family].get(str(value))
    return str(value) if word is None else str(word)


# A stored text's placeholders, as gettext writes them: %(name)s (or %(name)d), and %% for a percent sign.
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")
_QUOTED = re.compile(r"'%\((\w+)\)[sd]'")  # a figure in quotes: a cell or a value as it was written, never worded
_PREFIX = 6  # texts are looked up by their first characters (those before any placeholder)
_Pattern = tuple[re.Pattern[str], str]  # a text with placeholders as a pattern, and the text
_patterns: dict[int, tuple[object, dict[str, list[_Pattern]], list[_Pattern]]] = {}


def _pattern_of(text: str) -> tuple[re.Pattern[str], int]:
    """``'%(text)s' has sen`` as a pattern finding its figures back, and how many of its characters are fixed.

    A figure followed by fixed text ends at that text's first occurrence, never tried again at a later one (an
    atomic group): with several lazy figures free to end anywhere, a long stored text that nearly fits (a bank
    statement's cell quoted in a row's reason) made the match try every split, seconds to hours of one request.
    The last figure is free to end where the text's fixed end fits. A figure that holds the text after it is not
    found: the text is then shown as it is stored."""
    pieces: list[tuple[str, str]] = []  # ("text", fixed text) or ("name", a figure's name)
    at = 0
    for found in _PLACEHOLDER.finditer(text):
        pieces.append(("text", text[at : found.start()]))
        pieces.append(("text", "%") if found.group(1) is None else ("name", found.group(1)))
        at = found.end()
    pieces.append(("text", text[at:]))
    merged: list[tuple[str, str]] = []
    for kind, value in pieces:
        if kind == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + value)
        elif kind == "name" or value:
            merged.append((kind, value))
    last_figure = max((i for i, (kind, _) in enumerate(merged) if kind == "name"), default=-1)
    parts, seen, fixed, index = [], set(), 0, 0
    while index < len(merged):
        kind, value = merged[index]
        if kind == "text":
            parts.append(re.escape(value))
            fixed += len(value)
        elif value in seen:
            parts.append(f"(?P={value})")
        else:
            seen.add(value)
            after = merged[index + 1] if index + 1 < len(merged) else None
            if index != last_figure and after is not None and after[0] == "text":
                parts.append(f"(?>(?P<{value}>.+?){re.escape(after[1])})")
                fixed += len(after[1])
                index += 1
            else:
                parts.append(f"(?P<{value}>.+?)")
        index += 1
    return re.compile("".join(parts), re.S), fixed


def _index(translations: Any) -> tuple[dict[str, list[_Pattern]], list[_Pattern]]:
    """The catalogs' texts with placeholders, by their first characters (and those that start with one)."""
    cached = _patterns.get(id(translations))
    if cached is not None and cached[0] is translations:
        return cached[1], cached[2]
    ranked: list[tuple[int, str, re.Pattern[str]]] = []
    for key in getattr(translations, "_catalog", {}):
        if isinstance(key, str) and key and "%(" in key:
            pattern, fixed = _pattern_of(key)
            ranked.append((fixed, key, pattern))
    ranked.sort(key=lambda r: -r[0])  # the most specific text first
    by_prefix: dict[str, list[_Pattern]] = {}
    loose: list[_Pattern] = []
    for _, key, pattern in ranked:
        prefix = key.split("%", 1)[0]
        if len(prefix) >= _PREFIX:
            by_prefix.setdefault(prefix[:_PREFIX], []).append((pattern, key))
        else:
            loose.append((pattern, key))
    if len(_patterns) >= 8:  # one merged catalog per language and app: an old app's (a test's) is let go
        _patterns.clear()
    _patterns[id(translations)] = (translations, by_prefix, loose)
    return by_prefix, loose


def stored_text(text: str, _depth: int = 0) -> str:
    """A text worded in English when it was stored (``gettext`` under ``force_locale("en")``, or a pure rule's
    ``N_`` text with its figures) in the reader's language: the text is found back in the catalogs, its figures
    kept (a figure in words, itself such a text, worded too). A text no catalog holds is shown as it is stored."""
    if not text:
        return text
    translations = get_translations()
    catalog = getattr(translations, "_catalog", None)  # gettext's own table of the merged catalogs: msgid -> msgstr
    if not catalog:  # English, or outside the app: the text as stored
        return text
    exact = catalog.get(text)
    if isinstance(exact, str) and exact:
        return exact
    by_prefix, loose = _index(translations)
    for pattern, key in by_prefix.get(text[:_PREFIX], []) + loose:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        quoted = set(_QUOTED.findall(key))  # '%(value)s': the file's or the user's own text, kept as written
        figures = {
            name: stored_text(value, _depth + 1)
            if _depth < 3 and name not in quoted and any(ch.isalpha() for ch in value)
            else value
            for name, value in found.groupdict().items()
        }
        worded = translations.gettext(key)
        try:
            return worded % figures
        except (KeyError, ValueError, TypeError):  # a translation that names its figures otherwise
            return text
    return text


def stored_texts(value: Any) -> Any:
    """:func:`stored_text` of every text of a structure of dicts and lists (a report's field messages)."""
    if isinstance(value, dict):
        return {key: stored_texts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stored_texts(item) for item in value]
    if isinstance(value, str):
        return stored_text(value)
    return value


def rupiah(amount: int | None) -> str:
    """``16800`` → ``Rp16.800`` (in English ``Rp16,800``)."""
    return "Rp" + format_decimal(amount or 0, locale=language())


def month_label(month: Month | None) -> str:
    """``Month(2026, 12)`` → ``Des 2026`` (``Dec 2026``)."""
    if month is None:
        return "–"
    return format_date(month.first_day(), "MMM y", locale=language())


def months_label(months: tuple[Month, ...] | list[Month]) -> str:
    """A run of months, ``Nov 2026 – Jan 2027``."""
    if not months:
        return "–"
    first, last = min(months), max(months)
    return month_label(first) if first == last else f"{month_label(first)} – {month_label(last)}"


def day_label(day: date | None) -> str:
    """``date(2026, 12, 5)`` → ``5 Des 2026``."""
    return "–" if day is None else format_date(day, "d MMM y", locale=language())


def time_label(at: datetime | None, timezone: str) -> str:
    """A naive-UTC moment in ``timezone``: ``5 Des 2026 10.29 WIB`` (``5 Dec 2026 10:29 WIB``); the zone is named
    as Indonesia names it (WIB, WITA, WIT) in both languages."""
    if at is None:
        return "–"
    zone = ZoneInfo(timezone)
    moment = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone)
    clock = "d MMM y HH.mm" if language() == "id" else "d MMM y HH:mm"
    return f"{format_datetime(moment, clock, locale=language())} {format_datetime(moment, 'z', locale='id')}"


def compile_catalogs(root: Path) -> list[Path]:
    """Compile every package's ``.po`` into its ``.mo`` where the ``.mo`` is missing or older; the compiled files."""
    compiled = []
    for package in CATALOG_PACKAGES:
        for po_path in sorted((root / package / "translations").glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as source:
                catalog = read_po(source)
            try:
                with mo_path.open("wb") as target:
                    write_mo(target, catalog)
            except OSError as error:
                raise RuntimeError(
                    f"cannot write {mo_path} ({error}): run `make translations-compile` as its owner"
                ) from error
            compiled.append(mo_path)
    return compiled


def install(app: Flask, *labels: Labels) -> None:
    """Gettext for every page (``_``, ``pgettext``), ``lang``, ``label`` and the money, month and time filters, the
    catalogs compiled, and the language a user chose kept."""
    compile_catalogs(Path(app.root_path))
    for families in labels:
        register(families)
    directories = ";".join(f"{package}/translations" for package in CATALOG_PACKAGES)
    Babel(app, locale_selector=language, default_locale=DEFAULT_LANGUAGE, default_translation_directories=directories)
    app.add_template_global(language, "lang")
    app.add_template_global(label, "label")
    app.add_template_global(time_label, "time_label")
    app.add_template_filter(rupiah, "rupiah")
    app.add_template_filter(month_label, "month")
    app.add_template_filter(months_label, "months")
    app.add_template_filter(day_label, "day")
    app.before_request(_language)
    app.after_request(_remember_language)


def _language() -> None:
    chosen = request.args.get("lang")
    g.lang = chosen if chosen in LANGUAGES else request.cookies.get("lang")


def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        # Like the session's: no script reads it, and in production it only travels over HTTPS.
        secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", secure=secure, httponly=True)
    return response
