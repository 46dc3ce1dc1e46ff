"""Bulk writes shared by the set-based imports (a sponsor's list, a national export, a sponsor's bulk payment):
multi-row inserts without the ORM's per-row bookkeeping, and primary keys reserved up front."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import insert, text

from core.extensions import DbSession, MonthType


def insert_rows(session: DbSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows with one Core executemany on the session's connection (batched by the driver), without the
    ORM's per-row bookkeeping. Rows must all name the same columns."""
    if rows:
        session.connection().execute(insert(model.__table__), list(rows))


def reserve_ids(session: DbSession, table: str, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``: from its sequence on PostgreSQL; on SQLite after the largest
    id (the transaction holds SQLite's write lock from BEGIN IMMEDIATE, so nobody else can take them)."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count}
        )
        return [int(value) for (value,) in rows]
    largest = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(int(largest) + 1, int(largest) + 1 + count))


def copy_rows(session: DbSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows fast: PostgreSQL's COPY on the session's own connection (in its transaction); elsewhere
    :func:`insert_rows`. Rows must all name the same columns; a MonthType column's :class:`Month` is stored as its
    first day, as MonthType stores it."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        insert_rows(session, model, rows)
        return
    columns = list(rows[0])
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    months = [i for i, c in enumerate(columns) if isinstance(model.__table__.c[c].type, MonthType)]
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {model.__table__.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            line = values(row)
            if months:
                line = list(line)
                for i in months:
                    if line[i] is not None:
                        line[i] = line[i].first_day()
            copy.write_row(line)


def copy_text(session: DbSession, model: Any, columns: Sequence[str], text: str) -> None:
    """PostgreSQL's COPY of rows the caller has written in COPY's text format already (one line a row, values by
    tab, each in the column's text form, nothing to escape): for millions of rows of numbers and dates, where
    converting each value in Python costs more than the database's work."""
    if not text:
        return
    driver = session.connection().connection.driver_connection
    assert driver is not None
    statement = f"COPY {model.__table__.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(text)


def insert_tuples(session: DbSession, model: Any, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows of values the driver stores as given (no type processing: a date as the text the column's type
    would store) with the DBAPI's executemany in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    values = ", ".join([marker] * len(columns))
    statement = f"INSERT INTO {model.__table__.name} ({', '.join(columns)}) VALUES ({values})"
    connection.exec_driver_sql(statement, list(rows))
