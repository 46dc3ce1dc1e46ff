"""Provider settlement reports and the callbacks' review queue: one branch's finance sees and changes only its
own branch; every field is checked against what its column stores; large files go to a worker in chunks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db, redis_connection
from organisation.models import StaffUser
from payments.autodebit import settlements
from payments.autodebit.models import Mandate, SettlementImport, SettlementLine
from payments.autodebit.settlements import import_settlement
from tests.factories import NOW, nik_for, sent_debit
from tests.payments.autodebit.test_webhooks import midtrans, post, process

HEADER = "order_id,transaction_id,gross_amount,settlement_time\n"
TODAY = NOW.date()  # 09:00 WIB in both branches


@pytest.fixture
def ptk_finance(make_staff: Any, world: dict[str, Any]) -> Any:
    return make_staff("branch_finance", world["ptk"], "finance.ptk")


@pytest.fixture
def settled(pinned_app: Any, client: Any, enrol: Any) -> Any:
    """A member of the agent's branch whose Midtrans debit of Rp8.400 settled today; returns its order_id."""
    serials = iter(range(1, 100))

    def make(as_: str = "agent", regency: str = "1971", status: str = "settlement") -> str:
        serial = next(serials)
        member = enrol(as_=as_, nik=nik_for(regency, serial=serial))
        _, _, order_id = sent_debit(pinned_app, member["id"], f"SBX-M-{serial}")
        post(client, midtrans(order_id, status, 8_400, transaction_id=f"trx-{order_id}"))
        process(pinned_app)
        return order_id

    return make


def upload(client: Any, staff: Any, body: str | bytes, provider: str = "midtrans") -> Any:
    return client.post(f"/api/v1/settlements/{provider}", data=body, content_type="text/csv", headers=staff.headers)


def line(order_id: str, amount: str = "8400.00", transaction_id: str | None = None, day: date = TODAY) -> str:
    return f"{order_id},{transaction_id or 'trx-' + order_id},{amount},{day} 10:00:00\n"


def stored_lines(app: Any) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(SettlementLine.order_id, SettlementLine.transaction_id, SettlementLine.amount_idr).order_by(
                    SettlementLine.order_id
                )
            )
        ]


# --- one branch's finance, one branch ----------------------------------------------------------------------------


def test_missing_in_report_names_only_the_uploaders_branch(pinned_app, client, world, settled, ptk_finance):
    ours = settled()
    theirs = settled(as_="ptk_agent", regency="6171")
    other = settled()  # in the report

    report = upload(client, world["finance"], HEADER + line(other)).get_json()

    assert [m["order_id"] for m in report["missing_in_report"]] == [ours]
    assert theirs not in str(report)
    assert [
        m["order_id"] for m in upload(client, ptk_finance, HEADER + line(other)).get_json()["missing_in_report"]
    ] == [theirs]


def test_a_line_for_another_branchs_order_is_not_stored_and_does_not_block_its_owner(
    pinned_app, client, world, settled, ptk_finance
):
    theirs = settled(as_="ptk_agent", regency="6171")

    forged = upload(client, world["finance"], HEADER + line(theirs, "1", "fake"))

    assert forged.status_code == 200, forged.get_json()
    body = forged.get_json()
    assert (body["lines"], body["new_lines"], body["not_this_branch"], body["unknown_order"]) == (1, 0, 1, 0)
    assert body["missing_in_ours"] == [] and body["amount_mismatch"] == []
    assert stored_lines(pinned_app) == []

    true = upload(client, ptk_finance, HEADER + line(theirs)).get_json()
    assert (true["new_lines"], true["matched"], true["not_this_branch"]) == (1, 1, 0)
    assert stored_lines(pinned_app) == [(theirs, f"trx-{theirs}", 8_400)]


def test_a_line_of_no_known_order_is_counted_and_not_stored(pinned_app, client, world, settled):
    ours = settled()

    report = upload(client, world["finance"], HEADER + line(ours) + line("IUR-999999-1")).get_json()

    assert (report["lines"], report["new_lines"], report["matched"], report["unknown_order"]) == (2, 1, 1, 1)
    assert report["missing_in_ours"] == []
    assert [r[0] for r in stored_lines(pinned_app)] == [ours]


def test_an_admin_imports_every_branchs_lines_under_their_own_branch(pinned_app, client, world, settled, ptk_finance):
    ours, theirs = settled(), settled(as_="ptk_agent", regency="6171")

    report = upload(client, world["admin"], HEADER + line(ours) + line(theirs)).get_json()

    assert (report["new_lines"], report["matched"], report["not_this_branch"]) == (2, 2, 0)
    with pinned_app.app_context():
        branches = dict(db.session.execute(select(SettlementLine.order_id, SettlementLine.branch_id)).all())
    assert branches == {ours: world["pkp"], theirs: world["ptk"]}
    # The same lines from the branch itself are not new: each is stored once, under its branch.
    assert upload(client, ptk_finance, HEADER + line(theirs)).get_json()["new_lines"] == 0


def test_the_review_queue_shows_a_branch_only_its_own_callbacks_and_unattributed_ones_to_admins(
    pinned_app, client, world, settled, ptk_finance
):
    ours = settled(status="pending")
    theirs = settled(as_="ptk_agent", regency="6171", status="pending")
    for order_id in (ours, theirs):
        post(client, midtrans(order_id, "settlement", 16_800, transaction_id=f"trx-{order_id}"))  # wrong amount
    post(client, midtrans("IUR-999999-1", "settlement", 8_400))
    process(pinned_app)

    def queue(staff: Any) -> list[str]:
        response = client.get("/api/v1/webhook-events/review", headers=staff.headers)
        assert response.status_code == 200
        return [e["order_id"] for e in response.get_json()]

    assert queue(world["finance"]) == [ours]
    assert queue(ptk_finance) == [theirs]
    assert queue(world["admin"]) == [ours, theirs, "IUR-999999-1"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/receipts/{receipt}"),
        ("post", "/api/v1/contributions/{payment}/reversal"),
        ("get", "/api/v1/mandates?member_id={member}"),
        ("post", "/api/v1/mandates/{mandate}/pause"),
        ("post", "/api/v1/mandates/{mandate}/cancel"),
    ],
)
def test_another_branchs_ids_answer_404_on_every_payments_route(
    pinned_app, client, world, enrol, make_staff, method, path
):

    member = enrol(as_="ptk_agent", nik=nik_for("6171", serial=7))
    paid = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["ptk_agent"].headers | {"Idempotency-Key": "ptk-contribution-1"},
    )
    assert paid.status_code == 201, paid.get_json()
    with pinned_app.app_context():
        mandate = Mandate(member_id=member["id"], provider="midtrans", provider_ref="SBX-M-900", account_label="****")
        mandate.status = "active"
        db.session.add(mandate)
        db.session.commit()
        mandate_id = mandate.id
    receipt = paid.get_json()
    url = path.format(receipt=receipt["number"], payment=receipt["payment_id"], member=member["id"], mandate=mandate_id)
    for staff in (world["supervisor"], world["agent"]):
        response = getattr(client, method)(url, json={"reason": "not mine"}, headers=staff.headers)
        assert response.status_code in (403, 404), (staff.username, response.get_json())
    response = getattr(client, method)(url, json={"reason": "not mine"}, headers=world["supervisor"].headers)
    assert response.status_code == 404
    with pinned_app.app_context():
        assert db.session.get(Mandate, mandate_id).status == "active"


# --- every field as its column stores it -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "field"),
    [
        ("{order},trx,1000000000000,{day}", "gross_amount"),
        ("{order},trx,1" + "0" * 400 + ",{day}", "gross_amount"),
        ("{order},trx,8400.50,{day}", "gross_amount"),
        ("{order},trx,0,{day}", "gross_amount"),
        ("{order},trx,-8400,{day}", "gross_amount"),
        ("{order},trx,,{day}", "gross_amount"),
        ("X" * 500 + ",trx,8400,{day}", "order_id"),
        (",trx,8400,{day}", "order_id"),
        ("IUR-1\x00-1,trx,8400,{day}", "order_id"),
        ("{order}," + "t" * 81 + ",8400,{day}", "transaction_id"),
        ("{order},trx,8400,2026-13-40", "settlement_time"),
        ("{order},trx,8400,22-11-2026", "settlement_time"),
        ("{order},trx,8400,{day}\n{order},trx,8400,{day}", "order_id"),  # the same order twice in one report
    ],
)
def test_a_field_its_column_cannot_store_is_a_422_naming_the_row_and_nothing_is_stored(
    pinned_app, client, world, settled, bad_line, field
):
    ours = settled()
    body = HEADER + line(ours) + bad_line.format(order=ours, day=f"{TODAY} 10:00:00") + "\n"

    response = upload(client, world["finance"], body)

    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["file"]
    row = "row 4" if "\n" in bad_line else "row 3"
    assert field in errors[row], errors
    assert stored_lines(pinned_app) == []


def test_a_refused_reports_rows_are_named_in_the_readers_language(pinned_app, client, world, settled):
    ours = settled()
    body = HEADER + line(ours) + f"{ours},trx,84x,{TODAY}\n" + f"{ours},trx,8400,{TODAY}\n"

    english = upload(client, world["finance"], body).get_json()
    headers = world["finance"].headers | {"Accept-Language": "id"}
    indonesian = client.post("/api/v1/settlements/midtrans", data=body, content_type="text/csv", headers=headers)
    indonesian = indonesian.get_json()

    assert english["message"] == "2 rows of the CSV cannot be stored; nothing was imported: correct them, send again."
    assert (
        indonesian["message"] == "2 baris CSV tidak dapat disimpan; tidak ada yang diimpor: perbaiki lalu kirim lagi."
    )
    assert indonesian["errors"]["file"] == {
        "row 3": {"gross_amount": ["jumlah rupiah bulat dari 1 sampai 2,147,483,647, misalnya 8400 atau 8400.00"]},
        "row 4": {"order_id": ["berulang: baris 2 sudah memuat order ini"]},
    }


def test_a_file_that_is_not_utf8_or_not_a_csv_is_a_422(pinned_app, client, world):
    assert upload(client, world["finance"], HEADER.encode() + b"IUR-1-1,\xff\xfe,8400,2026-11-22\n").status_code == 422
    assert upload(client, world["finance"], "no,header,here\n1,2,3\n").status_code == 422
    huge = HEADER + 'IUR-1-1,"' + "x" * 200_000 + '",8400,2026-11-22\n'  # past the csv module's field limit
    response = upload(client, world["finance"], huge)
    assert response.status_code == 422 and "row 2" in response.get_json()["errors"]["file"]


@pytest.mark.postgresql_only
def test_a_report_of_more_orders_than_postgresql_takes_parameters_is_read_in_chunks(pinned_app, world, settled):
    ours = settled()
    body = HEADER + line(ours) + "".join(line(f"IUR-X{n}-1") for n in range(70_000))
    with pinned_app.app_context():
        finance = db.session.get(StaffUser, world["finance"].id)
        report = import_settlement(db.session, finance, "midtrans", body.encode(), NOW)
    assert (report.lines, report.new_lines, report.matched, report.unknown_order) == (70_001, 1, 1, 70_000)


# --- large files: stored in the database, imported by a worker ----------------------------------------------------


@pytest.fixture
def small_inline_limit(pinned_app: Any) -> Any:
    pinned_app.config["SETTLEMENT_INLINE_BYTES"] = 200  # anything over two lines goes to the worker
    return pinned_app


def test_a_large_report_is_queued_imported_by_a_worker_and_polled_by_its_branch(
    small_inline_limit, client, world, settled, ptk_finance, rq_burst
):

    orders = [settled() for _ in range(3)]
    theirs = settled(as_="ptk_agent", regency="6171")
    body = HEADER + "".join(line(o) for o in orders) + line(theirs) + line("IUR-999999-1")

    queued = upload(client, world["finance"], body)

    assert queued.status_code == 202, queued.get_json()
    location = queued.headers["Location"]
    assert queued.get_json()["status"] == "queued"
    assert client.get(location, headers=world["finance"].headers).get_json()["status"] == "queued"
    with small_inline_limit.app_context():  # the file waits in the database, not on a disk a worker may not see
        assert db.session.scalar(select(func.length(SettlementImport.content))) == len(body)

    rq_burst()

    done = client.get(location, headers=world["finance"].headers)
    assert done.status_code == 200
    status = done.get_json()
    assert (status["status"], status["rows_done"], status["rows_total"]) == ("done", 5, 5)
    report = status["report"]
    assert (report["lines"], report["new_lines"], report["matched"]) == (5, 3, 3)
    assert (report["not_this_branch"], report["unknown_order"]) == (1, 1)
    assert sorted(r[0] for r in stored_lines(small_inline_limit)) == sorted(orders)
    with small_inline_limit.app_context():
        assert db.session.scalar(select(SettlementImport.content)) is None  # not kept once imported
    assert client.get(location, headers=ptk_finance.headers).status_code == 404
    assert client.get(location, headers=world["admin"].headers).status_code == 200

    again = upload(client, world["finance"], body)  # the same file: the same import, nothing new
    assert again.status_code == 200 and again.headers["Location"] == location
    assert again.get_json()["report"] == report
    assert len(stored_lines(small_inline_limit)) == 3


def test_a_large_report_with_a_bad_row_fails_in_the_worker_naming_it_and_stores_nothing(
    small_inline_limit, client, world, settled, rq_burst
):
    orders = [settled() for _ in range(3)]
    body = HEADER + "".join(line(o) for o in orders) + line(orders[0].replace("IUR", "X" * 70))

    queued = upload(client, world["finance"], body)
    assert queued.status_code == 202
    rq_burst()

    status = client.get(queued.headers["Location"], headers=world["finance"].headers).get_json()
    assert status["status"] == "invalid"
    assert status["errors"]["row 5"] == {"order_id": ["not one of our order ids: at most 64 printable characters"]}
    assert status["errors"]["message"].startswith("1 rows of the CSV cannot be stored")
    assert stored_lines(small_inline_limit) == []
    again = upload(client, world["finance"], body)
    assert again.status_code == 422 and "row 5" in again.get_json()["errors"]["file"]
    # stored in English by the worker, for every reader; worded in the reader's language when shown
    headers = world["finance"].headers | {"Accept-Language": "id"}
    indonesian = client.get(queued.headers["Location"], headers=headers).get_json()["errors"]
    assert indonesian["row 5"] == {"order_id": ["bukan order id kita: paling banyak 64 karakter yang dapat dicetak"]}
    assert indonesian["message"].startswith("1 baris CSV tidak dapat disimpan; tidak ada yang diimpor")


def test_a_large_report_broken_past_its_header_is_refused_by_the_worker_with_the_reason(
    small_inline_limit, client, world, settled, rq_burst
):
    orders = [settled() for _ in range(3)]
    filler = "".join(line(f"NOT-OURS-{number}") for number in range(400))  # past the first block the request reads
    body = (HEADER + "".join(line(o) for o in orders) + filler).encode() + b"\xff\xfe not utf-8,x,1,2026-11-22\n"

    queued = upload(client, world["finance"], body)
    assert queued.status_code == 202
    rq_burst()

    status = client.get(queued.headers["Location"], headers=world["finance"].headers).get_json()
    assert status["status"] == "invalid"
    assert "UTF-8" in status["errors"]["message"]
    assert stored_lines(small_inline_limit) == []


def test_a_worker_killed_mid_import_resumes_without_doubling_anything(
    small_inline_limit, client, world, settled, rq_burst, monkeypatch
):

    orders = [settled() for _ in range(5)]
    body = HEADER + "".join(line(o) for o in orders)
    queued = upload(client, world["finance"], body)
    assert queued.status_code == 202
    import_id = queued.get_json()["id"]

    # The first worker writes two chunks of two lines, then dies (a deploy, an OOM kill).
    monkeypatch.setattr(settlements, "CHUNK", 2)

    class Killed(BaseException):
        pass

    def die_after_two_chunks(done: int) -> None:
        if done >= 4:
            raise Killed

    with small_inline_limit.app_context(), pytest.raises(Killed):
        settlements.run_settlement_import(db.session, import_id, NOW, progress=die_after_two_chunks)
    with small_inline_limit.app_context():
        db.session.rollback()
        record = db.session.get(SettlementImport, import_id)
        assert (record.status, record.rows_done, record.new_lines) == ("running", 4, 4)
    assert len(stored_lines(small_inline_limit)) == 4

    # Its job is gone from the queue; uploading the same file again queues the import once more, and it resumes.
    from rq import Queue

    with small_inline_limit.app_context():
        Queue("low", connection=redis_connection()).empty()
    assert upload(client, world["finance"], body).status_code == 202
    rq_burst()

    status = client.get(queued.headers["Location"], headers=world["finance"].headers).get_json()
    assert status["status"] == "done"
    assert (status["report"]["lines"], status["report"]["new_lines"], status["report"]["matched"]) == (5, 5, 5)
    assert sorted(r[0] for r in stored_lines(small_inline_limit)) == sorted(orders)


def test_twin_uploads_of_one_large_report_make_one_import(small_inline_limit, world, settled):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    body = HEADER + "".join(line(settled()) for _ in range(5))
    barrier = Barrier(2)

    def send(_: int) -> Any:
        client = small_inline_limit.test_client()
        barrier.wait()
        return upload(client, world["finance"], body)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(send, range(2))

    assert (first.status_code, second.status_code) == (202, 202), (first.get_json(), second.get_json())
    assert first.headers["Location"] == second.headers["Location"]
    with small_inline_limit.app_context():
        assert db.session.scalar(select(func.count()).select_from(SettlementImport)) == 1


def test_twin_uploads_of_one_small_report_store_each_line_once(pinned_app, world, settled):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    orders = [settled() for _ in range(3)]
    body = HEADER + "".join(line(o) for o in orders)
    barrier = Barrier(2)

    def send(_: int) -> Any:
        client = pinned_app.test_client()
        barrier.wait()
        return upload(client, world["finance"], body)

    with ThreadPoolExecutor(2) as pool:
        reports = [r.get_json() for r in pool.map(send, range(2))]

    assert sorted(r["new_lines"] for r in reports) == [0, 3], reports
    assert [r["matched"] for r in reports] == [3, 3]
    assert sorted(r[0] for r in stored_lines(pinned_app)) == sorted(orders)


def test_an_idempotency_key_of_another_branchs_mandate_gets_a_409_not_that_mandate(pinned_app, client, world, enrol):
    theirs = enrol(as_="ptk_agent", nik=nik_for("6171", serial=8))
    ours = enrol(nik=nik_for(serial=9))
    with pinned_app.app_context():
        mandate = Mandate(
            member_id=theirs["id"],
            provider="midtrans",
            provider_ref="SBX-M-PTK",
            account_label="****9876",
            idempotency_key="ptk-mandate-key-1",
        )
        mandate.status = "active"
        db.session.add(mandate)
        db.session.commit()

    response = client.post(
        "/api/v1/mandates",
        json={"member_id": ours["id"], "provider": "midtrans", "account": "1234567890", "months_per_debit": 1},
        headers=world["agent"].headers | {"Idempotency-Key": "ptk-mandate-key-1"},
    )

    assert response.status_code == 409, response.get_json()
    assert "SBX-M-PTK" not in response.get_data(as_text=True) and "9876" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/branches/{ptk}/statement-lines",
        "/api/v1/branches/{ptk}/batches",
        "/api/v1/branches/{ptk}/reports/arrears-ageing",
        "/api/v1/branches/{ptk}/reports/collections",
        "/api/v1/branches/{ptk}/reports/coverage",
        "/api/v1/branches/{ptk}/reports/collections-by-channel",
        "/api/v1/branches/{ptk}/reports/agent-scorecard",
    ],
)
def test_another_branchs_finance_routes_answer_404(pinned_app, client, world, path):
    url = path.format(ptk=world["ptk"])

    assert client.get(url, headers=world["finance"].headers).status_code == 404
    assert client.get(url, headers=world["admin"].headers).status_code == 200


@pytest.mark.parametrize(
    ("status", "action", "indonesian"),
    [
        (
            "cancelled",
            "resume",
            "Mandat yang dibatalkan tidak dapat menjadi aktif: status itu sudah final.",
        ),
        (
            "pending_authorisation",
            "pause",
            "Mandat yang menunggu persetujuan tidak dapat menjadi dijeda; mandat ini dapat menjadi aktif, dibatalkan, "
            "kedaluwarsa, gagal.",
        ),
    ],
)
def test_a_refused_mandate_move_says_what_is_allowed_in_the_readers_language(
    pinned_app, client, world, enrol, status, action, indonesian
):
    member = enrol()
    with pinned_app.app_context():
        mandate = Mandate(
            member_id=member["id"], provider="midtrans", provider_ref=f"SBX-M-{status}", account_label="****1234"
        )
        mandate.status = status
        db.session.add(mandate)
        db.session.commit()
        mandate_id = mandate.id

    headers = world["agent"].headers | {"Accept-Language": "id"}
    response = client.post(f"/api/v1/mandates/{mandate_id}/{action}", json={}, headers=headers)

    assert response.status_code == 409 and response.get_json()["reason"] == "illegal_transition"
    assert response.get_json()["message"] == indonesian
