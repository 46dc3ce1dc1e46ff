"""What a username and a password a person chooses must be, and the temporary passwords the branch hands out."""

from __future__ import annotations

import secrets

from flask_babel import gettext

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed from paper
TEMPORARY_LENGTH = 12  # about 59 bits


def password_problem(username: str, password: str) -> str | None:
    """Why ``password`` may not be used by ``username``, or None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return gettext("The password may have at most %(n)s characters.", n=MAX_PASSWORD_LENGTH)
    if password.strip().lower() == username.strip().lower():
        return gettext("The password must not be the username.")
    return None


def temporary_password() -> str:
    """A random password to hand over once; its holder must change it at the first login."""
    return "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))


USERNAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789._-"
MIN_USERNAME_LENGTH, MAX_USERNAME_LENGTH = 3, 64


def username_problem(username: str) -> str | None:
    """Why ``username`` (already lower-cased) cannot name an account, or None when it can."""
    if not MIN_USERNAME_LENGTH <= len(username) <= MAX_USERNAME_LENGTH:
        return gettext(
            "A username has %(min)s to %(max)s characters.", min=MIN_USERNAME_LENGTH, max=MAX_USERNAME_LENGTH
        )
    wrong = sorted({c for c in username if c not in USERNAME_CHARACTERS})
    if wrong:
        return gettext(
            "A username has only letters a-z, digits, '.', '_' and '-', not %(characters)s.",
            characters=" ".join(map(repr, wrong)),
        )
    if not username[0].isalnum():
        return gettext("A username starts with a letter or a digit.")

    return None
