"""The browser tests' settings live in tests/browsers.py (their fixtures are shared through tests/conftest.py)."""

from tests.browsers import CHROMIUM, CHROMIUM_ARGS, PHONE

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PHONE"]
