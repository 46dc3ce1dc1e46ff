"""Every /agen page is under 8 KB on the wire (gzip) at any data size: an agent with 2,000 members and 5,000
incentive lines, made by copying one real enrolment and one real cash payment in bulk. Sizes, not times."""

from __future__ import annotations

import gzip
import re
from typing import Any

from sqlalchemy import insert, select

from collection.members.models import Member, PaymentAllocation
from core.extensions import db
from payments.ledger.models import Payment
from tests.agents.field.test_pages import login

MEMBERS = 2_000
LINES = 5_000  # cash lines: months paid, each a line of the incentive statement (pending: nothing deposited)
BUDGET = 8 * 1024
PAGES = ("/agen/", "/agen/cari?q=budi", "/agen/insentif", "/agen/insentif?page=2", "/agen/insentif?pending_page=40",
         "/agen/daftar", "/agen/setoran", "/agen/antrean", "/agen/masuk")  # fmt: skip


def grow(app: Any, member_id: int) -> None:
    """Copies of the member (the agent's), each with a cash payment of two or three months."""
    with app.app_context():
        session = db.session
        member = dict(session.execute(select(Member.__table__).where(Member.id == member_id)).mappings().one())
        payment = dict(
            session.execute(select(Payment.__table__).where(Payment.member_id == member_id)).mappings().one()
        )
        allocation = dict(
            session.execute(select(PaymentAllocation.__table__).where(PaymentAllocation.member_id == member_id))
            .mappings()
            .first()
        )
        for row in (member, payment, allocation):
            del row["id"]
        members = [
            member | {"nik": member["nik"][:12] + f"{5000 + n:04d}", "kpj": f"9{n:010d}", "name": f"budi santoso {n}"}
            for n in range(1, MEMBERS)
        ]
        session.execute(insert(Member), members)
        ids = session.scalars(select(Member.id).where(Member.kpj.like("9%")).order_by(Member.id)).all()
        months = [2 + (n < LINES - 2 * MEMBERS) for n in range(len(ids))]
        payments = [
            payment | {"member_id": mid, "idempotency_key": f"copy-{mid}", "credit_idr": 0,
                       "amount_idr": allocation["amount_idr"] * count}
            for mid, count in zip(ids, months, strict=True)
        ]  # fmt: skip
        session.execute(insert(Payment), payments)
        copies = select(Payment.member_id, Payment.id).where(Payment.idempotency_key.like("copy-%"))
        paid = {member_id: payment_id for member_id, payment_id in session.execute(copies)}
        session.execute(
            insert(PaymentAllocation),
            [
                allocation | {"payment_id": paid[mid], "member_id": mid, "month": allocation["month"] + k}
                for mid, count in zip(ids, months, strict=True)
                for k in range(count)
            ],
        )
        session.commit()


def test_every_agent_page_is_under_8_kb_gzipped_with_2000_members_and_5000_lines(pinned_app, client, world, enrol):
    member = enrol()
    login(client)
    page = client.get(f"/agen/anggota/{member['id']}").get_data(as_text=True)
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1),
        "months": "1",
    }
    paid = client.post(f"/agen/anggota/{member['id']}/bayar", data=form)
    assert paid.status_code == 303
    receipt = paid.headers["Location"]
    grow(pinned_app, member["id"])

    sizes = {}
    for path in (*PAGES, f"/agen/anggota/{member['id']}", receipt):
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, path
        assert answer.headers.get("Content-Encoding") == "gzip" or len(answer.data) < 500, path
        plain = gzip.decompress(answer.data) if answer.headers.get("Content-Encoding") else answer.data
        sizes[path] = (len(answer.data), len(plain))

    statement = client.get("/agen/insentif").get_data(as_text=True)
    print("\n".join(f"{path}: {packed} B gzipped, {plain} B plain" for path, (packed, plain) in sizes.items()))
    assert "1 / 40 (2000)" in statement  # every line counted, 50 shown: 2,000 enrolments this month
    assert "1 / 100 (4999)" in statement  # and 4,999 months paid in cash, not deposited yet: pending
    assert statement.count('class="line kind-pending"') == statement.count('class="line kind-acquisition"') == 50
    assert "20 / 2000" in client.get("/agen/").get_data(as_text=True)  # today's receipts: the last 20 shown
    assert {path: size for path, size in sizes.items() if size[0] >= BUDGET} == {}
