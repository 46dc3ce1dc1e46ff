"""The SQL statements a piece of code sends to the database, as the engine's cursor sees them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

TRANSACTION_CONTROL = ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")


@contextmanager
def captured(engine: Engine, keep: Callable[[str], bool] = lambda statement: True) -> Iterator[list[tuple[str, Any]]]:
    """Collect ``(statement, parameters)`` of every statement ``keep`` accepts while the block runs."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if keep(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def not_transaction_control(statement: str) -> bool:
    """True for a statement other than BEGIN, COMMIT and ROLLBACK."""
    return statement.strip().upper() not in TRANSACTION_CONTROL
