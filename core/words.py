"""Texts marked for the catalogs where gettext cannot be called: a pure rule's messages (a statement row a bank's
file cannot be read at, a settlement line's fields) and texts stored to be read later by anyone.

``N_("'%(text)s' has sen")`` is the English as it is (scripts/translations.py extracts it into the package's
catalog); the rule formats it with ``%`` and its figures, and whoever shows the result words it in the reader's
language with :func:`core.i18n.stored_text`, which finds the text and its figures back in the catalogs.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """The English text as it is, marked for the catalog."""
    return text
