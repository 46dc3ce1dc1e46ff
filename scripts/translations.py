"""The gettext catalogs: every package's texts extracted into its Indonesian catalog, and the catalogs checked.

    .venv/bin/python scripts/translations.py update   # `make translations`: new texts in, gone texts out
    .venv/bin/python scripts/translations.py check    # every text has its Indonesian, the same in every catalog
                                                      # (a test runs this too)

Each package (core, organisation, collection, payments, agents) keeps its own catalog,
``<package>/translations/id/LC_MESSAGES/messages.po``: the texts of its Python files (``gettext``, ``pgettext``,
``ngettext`` and their ``lazy_`` forms) and of its templates (``_``, ``pgettext``, ``ngettext``). English is the
source language: an English reader gets the text as the code writes it. ``update`` keeps every translation whose
text is still used and adds the new texts untranslated; translate them in the ``.po`` file (msgstr) and commit it.
The ``.mo`` files are built from the ``.po`` files when the app starts (core/i18n.py ``compile_catalogs``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.i18n import CATALOG_PACKAGES  # noqa: E402  (the script runs from a checkout, not an installed package)

METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
    "N_": None,  # core/words.py: a text marked where gettext cannot be called (a pure rule), worded when shown
}
LOCALE = "id"


def catalog_path(package: str) -> Path:
    return ROOT / package / "translations" / LOCALE / "LC_MESSAGES" / "messages.po"


def extracted(package: str) -> Catalog:
    """The texts the package's files hold now."""
    catalog = Catalog(locale=LOCALE, project="iuran", domain="messages")
    found = extract_from_dir(
        ROOT / package, METHODS, keywords=KEYWORDS, options_map=OPTIONS, comment_tags=("TRANSLATORS:",)
    )
    for filename, lineno, message, comments, context in found:
        location = (f"{package}/{filename}", lineno)
        catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def current(package: str) -> Catalog:
    path = catalog_path(package)
    if not path.exists():
        return Catalog(locale=LOCALE, project="iuran", domain="messages")
    with path.open("rb") as source:
        return read_po(source, locale=LOCALE)


def update(package: str) -> Catalog:
    """The package's catalog with the texts its files hold now, translations kept (no fuzzy matching: a changed
    English text is a new text to translate)."""
    catalog = current(package)
    catalog.update(extracted(package), no_fuzzy_matching=True, update_header_comment=False, update_creation_date=False)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    catalog.header_comment = f"# The Indonesian texts of iuran's {package} package: see scripts/translations.py."
    path = catalog_path(package)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as target:
        write_po(target, catalog, width=120, sort_output=True, include_previous=False, include_lineno=False)
    return catalog


def problems(package: str) -> Iterator[str]:
    """Texts used in the code but missing from the catalog or without their Indonesian, and placeholders that
    differ between a text and its translation."""
    catalog = current(package)
    for message in extracted(package):
        if not message.id:
            continue
        known = catalog.get(message.id, context=message.context)
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        if known is None:
            yield f"{where}: not in {catalog_path(package).relative_to(ROOT)}: {message.id!r} (run `make translations`)"
        elif not known.string or (isinstance(known.string, tuple) and not all(known.string)):
            yield f"{where}: no Indonesian for {message.id!r} in {catalog_path(package).relative_to(ROOT)}"
        elif known.fuzzy:
            yield f"{where}: the Indonesian of {message.id!r} is marked fuzzy: check it and remove the flag"
        else:
            for error in known.check(catalog):
                yield f"{where}: {message.id!r}: {error}"


def disagreements() -> Iterator[str]:
    """A text two packages translate differently: the app merges the catalogs, so one of them would be lost."""
    seen: dict[tuple[str | None, str], tuple[str, object]] = {}
    for package in CATALOG_PACKAGES:
        for message in current(package):
            if not message.id or not message.string:
                continue
            key = (message.context, message.id if isinstance(message.id, str) else message.id[0])
            earlier = seen.setdefault(key, (package, message.string))
            if earlier[1] != message.string:
                yield (
                    f"{key[1]!r} is translated one way in {earlier[0]}'s catalog and another in {package}'s: "
                    "write it the same in both"
                )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        for package in CATALOG_PACKAGES:
            catalog = update(package)
            untranslated = sum(
                1 for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
            )
            print(f"{catalog_path(package).relative_to(ROOT)}: {len(catalog)} texts, {untranslated} untranslated")
        return 0
    if command == "check":
        found = [p for package in CATALOG_PACKAGES for p in problems(package)] + list(disagreements())
        print("\n".join(found) if found else "every text has its Indonesian")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
