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

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import Babel

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
