"""Lists in pages, one way for the whole API and one for the desks' pages.

The API: ``?page=&page_size=`` (flask-smorest's paginate), the total in the
``X-Pagination`` header, a default page of 100 and at most 1,000 (a page size over it is a 422 naming
``page_size``), and an offset past every row an empty page rather than a number the database cannot hold.

``page_of`` pages a query in the database (its rows and its count); ``Page`` (flask-smorest's) pages a list a
service already holds, for lists bounded by nature (one member's mandates, one programme's payments).

The /keuangan and /admin pages: ``?page=`` (1 when absent or not a number), ``DESK_PAGE_SIZE`` lines a page, and
``desk_page`` for the template's pager (organisation/templates/admin/_pager.html: "2 / 5 (412)" with links to the
pages before and after, the page's other query arguments kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVarTuple
from urllib.parse import urlencode

from flask import request, url_for
from flask_smorest import Page
from sqlalchemy import Row, Select, func, select

from core.extensions import DbSession

PAGE_SIZE = 100  # the API's default page, as GET /visits
MAX_PAGE_SIZE = 1000  # a whole branch's list in a few requests, each a bounded answer
DESK_PAGE_SIZE = 100  # lines on a desk's page: a screen or two, a few KB compressed
MAX_OFFSET = 10**7  # a page past every row is empty, not an OFFSET SQLite cannot hold (schemathesis found a 500)

Ts = TypeVarTuple("Ts")

__all__ = [
    "DESK_PAGE_SIZE",
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "PAGE_SIZE",
    "DeskPage",
    "Page",
    "asked_page",
    "capped_offset",
    "count_of",
    "desk_page",
    "desk_window",
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


def rows_page_of(session: DbSession, query: Select[*Ts], offset: int, limit: int | None) -> tuple[list[Row[*Ts]], int]:
    """One page of a query of several columns or entities (its rows as tuples) and how many rows in all."""
    return list(session.execute(paged(query, offset, limit)).all()), count_of(session, query)


@dataclass(frozen=True)
class DeskPage:
    """Where a page's list stands: this page's number, the last page's, how many lines in all, and the links to
    the pages before and after (None at either end)."""

    number: int
    last: int
    count: int
    size: int
    previous_url: str | None
    next_url: str | None

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def asked_page(argument: str = "page") -> int:
    """The page number the request asks for in ``argument``: 1 when absent or not a whole number from 1."""
    text = request.args.get(argument, "")
    return int(text) if text.isdecimal() and len(text) < 7 and int(text) >= 1 else 1


def desk_window(number: int, size: int = DESK_PAGE_SIZE) -> tuple[int, int]:
    """The offset and limit of page ``number`` of a desk's list."""
    return capped_offset((number - 1) * size), size


def desk_page(
    count: int, number: int, size: int = DESK_PAGE_SIZE, argument: str = "page", endpoint: str | None = None
) -> DeskPage:
    """The pager of page ``number`` of ``count`` lines, its links to this endpoint with the request's other query
    arguments kept (or to ``endpoint``, for a list shown again after a form was posted elsewhere)."""
    last = max(1, -(-count // size))

    def link(to: int) -> str:
        if endpoint is not None:
            values: dict[str, Any] = {argument: str(to)}
            return url_for(endpoint, **values)
        # The query arguments are written as a query string, never handed to url_for as keywords: ?endpoint= was
        # a 500 (two endpoints), ?_scheme= another, and ?_external=1&_host= put another site's address in the links.
        kept = [(name, value) for name, value in request.args.items(multi=True) if name != argument]
        return f"{url_for(str(request.endpoint), **(request.view_args or {}))}?{urlencode([*kept, (argument, to)])}"

    return DeskPage(
        number=number,
        last=last,
        count=count,
        size=size,
        previous_url=link(min(number - 1, last)) if number > 1 else None,
        next_url=link(number + 1) if number < last else None,
    )
