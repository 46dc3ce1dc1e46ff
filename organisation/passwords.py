"""What a username and a password a person chooses must be, and the temporary passwords the branch hands out."""

from __future__ import annotations

import secrets

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed from paper
TEMPORARY_LENGTH = 12  # about 59 bits


def password_problem(username: str, password: str) -> str | None:
    """Why ``password`` may not be used by ``username``, or None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password may have at most {MAX_PASSWORD_LENGTH} characters."
    if password.strip().lower() == username.strip().lower():
        return "The password must not be the username."
    return None


def temporary_password() -> str:
    """A random password to hand over once; its holder must change it at the first login."""
    return "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))


USERNAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789._-"
MIN_USERNAME_LENGTH, MAX_USERNAME_LENGTH = 3, 64


def username_problem(username: str) -> str | None:
    """Why ``username`` (already lower-cased) cannot name an account, or None when it can."""
    if not MIN_USERNAME_LENGTH <= len(username) <= MAX_USERNAME_LENGTH:
        return f"A username has {MIN_USERNAME_LENGTH} to {MAX_USERNAME_LENGTH} characters."
    wrong = sorted({c for c in username if c not in USERNAME_CHARACTERS})
    if wrong:
        return f"A username has only letters a-z, digits, '.', '_' and '-', not {' '.join(map(repr, wrong))}."
    if not username[0].isalnum():
        return "A username starts with a letter or a digit."
    return None
