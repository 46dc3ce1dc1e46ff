"""Lists in pages, one way for the whole API: ``?page=&page_size=`` (flask-smorest's paginate), the total in the
``X-Pagination`` header, a default page of 100 and at most 1,000 (a page size over it is a 422 naming
``page_size``), and an offset past every row an empty page rather than a number the database cannot hold.

``page_of`` pages a query in the database (its rows and its count); ``Page`` (flask-smorest's) pages a list a
service already holds, for lists bounded by nature (one member's mandates, one day's batches of a branch).
"""

from __future__ import annotations

from typing import Any, TypeVarTuple

from flask_smorest import Page
from sqlalchemy import Row, Select, func, select

from core.extensions import DbSession

PAGE_SIZE = 100  # what a desk shows at once; the same default as GET /visits
MAX_PAGE_SIZE = 1000  # a whole branch's list in a few requests, each a bounded answer
MAX_OFFSET = 10**7  # a page past every row is empty, not an OFFSET SQLite cannot hold (schemathesis found a 500)

Ts = TypeVarTuple("Ts")

__all__ = [
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "PAGE_SIZE",
    "Page",
    "capped_offset",
    "count_of",
    "page_of",
    "paged",
    "rows_page_of",
]


def capped_offset(offset: int) -> int:
    """``offset`` bounded so that the database can hold it; beyond every row either way."""
    return max(0, min(offset, MAX_OFFSET))


def count_of(session: DbSession, query: Select[*Ts]) -> int:
    """How many rows ``query`` gives (its order dropped)."""
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def paged(query: Select[*Ts], offset: int, limit: int | None) -> Select[*Ts]:
    """``query`` cut to one page (``limit`` None: every row from ``offset``); it must be ordered on something
    unique, or a row may be on two pages and another on none."""
    return query.offset(capped_offset(offset)).limit(limit)


def page_of(session: DbSession, query: Select[Any], offset: int, limit: int | None) -> tuple[list[Any], int]:
    """One page of a single-entity query (its objects) and how many rows there are in all."""
    return list(session.scalars(paged(query, offset, limit))), count_of(session, query)


def rows_page_of(
    session: DbSession, query: Select[*Ts], offset: int, limit: int | None
) -> tuple[list[Row[*Ts]], int]:
    """One page of a query of several columns or entities (its rows as tuples) and how many rows in all."""
    return list(session.execute(paged(query, offset, limit)).all()), count_of(session, query)
