"""The desks' list pages in pages of 100 (core/paging.py desk_page, organisation/templates/admin/_pager.html): the
staff of a branch (/admin/staf, every login on one page before), the branches (/admin/cabang) and the unmatched
bank credits (/keuangan/mutasi, which stopped silently at 1,000), walked by their "next" links: every line once,
none missing; the CSV whole."""

from __future__ import annotations

import html
import io
import re
from typing import Any

from sqlalchemy import insert, select

from core.extensions import db
from core.paging import DESK_PAGE_SIZE
from organisation.models import Branch, StaffUser
from tests.factories import PASSWORD
from tests.organisation.test_admin_cli_and_pages import csrf, web_login

EXTRA = DESK_PAGE_SIZE + 5
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def _walk(client: Any, path: str, item: re.Pattern[str]) -> tuple[list[str], int]:
    """Every item of a paged list, following the pager's next links from ``path``; and how many pages."""
    found: list[str] = []
    pages = 0
    while path:
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        text = response.get_data(as_text=True)
        items = item.findall(text)
        assert len(items) <= DESK_PAGE_SIZE
        found += items
        pages += 1
        following = NEXT.search(text)
        path = html.unescape(following.group(1)) if following else ""
    return found, pages


def test_the_staff_page_pages_a_branch_of_many_logins(app: Any, client: Any, world: dict[str, Any]) -> None:
    with app.app_context():
        password_hash = db.session.scalar(select(StaffUser.password_hash).where(StaffUser.username == "finance.pkp"))
        db.session.execute(
            insert(StaffUser),
            [
                {
                    "username": f"kasir.{n:03d}",
                    "password_hash": password_hash,
                    "full_name": f"Kasir {n}",
                    "role": "branch_finance",
                    "branch_id": world["pkp"],
                }
                for n in range(EXTRA)
            ],
        )
        db.session.commit()
        expected = set(db.session.scalars(select(StaffUser.username).where(StaffUser.branch_id == world["pkp"])))
    assert web_login(client, "/admin", "supervisor.pkp").status_code == 303

    usernames, pages = _walk(client, "/admin/staf", re.compile(r"<tr><td>([^<]+)</td><td>"))

    assert pages == 2
    assert len(usernames) == len(set(usernames)) == len(expected) > DESK_PAGE_SIZE
    assert set(usernames) == expected
    assert "2 / 2" in client.get("/admin/staf?page=2").get_data(as_text=True)
    assert client.get("/admin/staf?page=abc").status_code == 200  # not a number: the first page


def test_an_admin_pages_the_branches(app: Any, client: Any, world: dict[str, Any]) -> None:
    with app.app_context():
        db.session.execute(
            insert(Branch),
            [
                {
                    "code": f"X{n:03d}",
                    "name": f"Cabang {n}",
                    "province_code": "19",
                    "regency_code": "1971",
                    "timezone": "Asia/Jakarta",
                }
                for n in range(EXTRA)
            ],
        )
        db.session.commit()
        expected = set(db.session.scalars(select(Branch.code)))
    assert web_login(client, "/admin", "admin").status_code == 303

    codes, pages = _walk(client, "/admin/cabang", re.compile(r"<tr><td>([A-Z0-9]+)</td><td>"))

    assert pages == 2 and len(codes) == len(set(codes)) == len(expected) and set(codes) == expected


def test_the_unmatched_queue_pages_its_credits_and_its_csv_holds_them_all(
    app: Any, client: Any, world: dict[str, Any]
) -> None:
    rows = ["date,description,reference,amount"]
    rows += [f"2026-11-19,TRF TANPA NAMA {n},REF{n:05d},{10_000 + n}" for n in range(EXTRA)]
    data = {"username": "finance.pkp", "password": PASSWORD, "csrf_token": csrf(client, "/keuangan/masuk")}
    assert client.post("/keuangan/masuk", data=data).status_code == 303
    upload = {
        "csrf_token": csrf(client, "/keuangan/mutasi"),
        "bank": "generic",
        "file": (io.BytesIO(("\n".join(rows) + "\n").encode()), "mutasi.csv"),
    }
    assert client.post("/keuangan/mutasi/unggah", data=upload, content_type="multipart/form-data").status_code < 400

    lines, pages = _walk(client, "/keuangan/mutasi", re.compile(r'<tr class="line" id="line-(\d+)">'))
    csv = client.get("/keuangan/mutasi?format=csv").get_data(as_text=True)

    assert pages == 2
    assert len(lines) == len(set(lines)) == EXTRA
    assert len(csv.strip().splitlines()) == EXTRA + 1  # a header and every line, not one page
