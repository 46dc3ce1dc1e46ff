"""Large bank statements (issue 10, item 5): read and written in chunks under PostgreSQL's parameter limit, every
field bounded to its column, and a large file imported by a worker with progress, idempotent and resumable."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db, redis_connection
from organisation.models import Branch
from payments.finance import statement_import
from payments.finance.bank import import_statement
from payments.finance.models import StatementLine, StatementUpload
from tests.payments.finance.test_batches import deposit, statement, upload

LINES_OVER_PARAMETER_LIMIT = 66_000  # PostgreSQL takes at most 65,535 bind parameters in one statement


def big_statement(lines: int, first: int = 0) -> str:
    """A generic statement of ``lines`` distinct credits of November 2026, numbered from ``first``."""
    rows = ["date,description,reference,amount"]
    rows += [f"2026-11-{1 + n % 28:02d},TRF MASUK {n},R{n},{10_000 + n}" for n in range(first, first + lines)]
    return "\n".join(rows) + "\n"


def count_lines(app: Any, **where: Any) -> int:
    with app.app_context():
        query = select(func.count()).select_from(StatementLine)
        for column, value in where.items():
            query = query.where(getattr(StatementLine, column) == value)
        return int(db.session.scalar(query) or 0)


@pytest.mark.postgresql_only
def test_a_statement_of_more_credits_than_postgresql_takes_parameters_imports_and_again_changes_nothing(
    pinned_app, world
):
    from tests.factories import NOW

    text = big_statement(LINES_OVER_PARAMETER_LIMIT)
    overlapping = text + "2026-11-28,TRF MASUK BARU,RNEW,77777\n"
    with pinned_app.app_context():
        branch = db.session.get(Branch, world["pkp"])
        first = import_statement(db.session, branch, "generic", "big.csv", text.encode(), None, NOW)
        again = import_statement(db.session, branch, "generic", "big.csv", text.encode(), None, NOW)
        later = import_statement(db.session, branch, "generic", "next.csv", overlapping.encode(), None, NOW)

    assert (first.credit_lines, first.new_lines, first.unmatched) == (66_000, 66_000, 66_000)
    assert again.already_imported and again.import_id == first.import_id
    assert (later.credit_lines, later.new_lines) == (66_001, 1)
    assert count_lines(pinned_app) == 66_001


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("2026-11-19,SETORAN,R1,9223372036854775808", "more than Rp10.000.000.000.000"),  # past BIGINT
        ("2026-11-19,SETORAN," + "R" * 81 + ",16800", "reference is longer than 80 characters"),
    ],
)
def test_a_row_no_column_can_hold_is_refused_by_its_row_and_nothing_is_imported(client, world, row, says):
    response = upload(client, world["finance"], world["pkp"], statement(("2026-11-19", "OK", "R0", 16_800)) + row)

    assert response.status_code == 422, response.get_json()
    (message,) = response.get_json()["errors"]["files"]["file"]
    assert message.startswith("row 5: ") and says in message
    assert count_lines(client.application) == 0


def test_a_long_description_is_cut_at_a_word_to_its_column_and_still_matches(client, world, enrol):
    """The bank's free text is kept to the 300 characters of its column, never ending in half a word (a cut
    reference could name another deposit)."""
    from tests.payments.finance.test_batches import pay

    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=1)["amount_idr"]
    assert deposit(client, world["agent"], amount, "SLIP-4242").status_code == 201
    text = "SETORAN SLIP-4242 " + "KETERANGAN " * 25 + "BRI77810"  # the last word would be cut at 300
    response = upload(client, world["finance"], world["pkp"], statement(("2026-11-19", text, "", amount)))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["matched"] == {"reference": 1}

    with client.application.app_context():
        (description,) = db.session.scalars(select(StatementLine.description))
    assert len(description) <= 300 and description.endswith("KETERANGAN")


# --- large files: a worker imports them, with progress -----------------------------------------------------------


def post_statement(client: Any, staff: Any, branch_id: int, text: str, name: str = "mutasi.csv") -> Any:
    data = {"bank": "generic", "file": (io.BytesIO(text.encode()), name)}
    return client.post(
        f"/api/v1/branches/{branch_id}/statements", data=data, headers=staff.headers, content_type="multipart/form-data"
    )


def test_a_large_statement_is_queued_and_a_worker_imports_it_with_progress(client, world, pinned_app, rq_burst):
    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    pinned_app.config["STATEMENT_CHUNK_LINES"] = 7
    text = big_statement(40)

    queued = post_statement(client, world["finance"], world["pkp"], text)

    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert queued.headers["Location"].endswith(f"/api/v1/statement-imports/{body['import_id']}")
    assert (body["status"], body["lines_done"]) == ("queued", 0)
    assert count_lines(pinned_app) == 0  # nothing written in the request
    twin = post_statement(client, world["finance"], world["pkp"], text, name="again.csv")
    assert twin.status_code == 202 and twin.get_json()["import_id"] == body["import_id"]

    rq_burst("low")

    done = client.get(queued.headers["Location"], headers=world["finance"].headers)
    assert done.status_code == 200
    report = done.get_json()
    assert (report["status"], report["lines_done"], report["lines_total"]) == ("done", 40, 40)
    assert (report["credit_lines"], report["new_lines"], report["unmatched"]) == (40, 40, 40)
    assert count_lines(pinned_app) == 40
    again = post_statement(client, world["finance"], world["pkp"], text)
    assert again.status_code == 200 and again.get_json()["already_imported"] is True
    assert count_lines(pinned_app) == 40
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementUpload)) == 0  # the file is let go


def test_a_large_statement_with_a_bad_row_is_refused_by_the_worker_with_the_row_named(
    client, world, pinned_app, rq_burst
):
    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    text = big_statement(20) + "2026-11-31,TRF,X,100\n"
    queued = post_statement(client, world["finance"], world["pkp"], text)
    assert queued.status_code == 202

    rq_burst("low")

    report = client.get(queued.headers["Location"], headers=world["finance"].headers).get_json()
    assert report["status"] == "refused"
    assert report["errors"][0].startswith("row 22: column date")
    assert count_lines(pinned_app) == 0
    # stored in English, for every reader; worded in the reader's language when shown
    headers = world["finance"].headers | {"Accept-Language": "id"}
    indonesian = client.get(queued.headers["Location"], headers=headers).get_json()
    assert indonesian["errors"] == [
        "baris 22: kolom date: '2026-11-31' bukan tanggal dalam format bank ini (tulis seperti 2026-11-22)"
    ]


def test_a_large_statement_in_the_wrong_format_is_refused_in_the_request(client, world, pinned_app):
    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    response = upload(client, world["finance"], world["pkp"], big_statement(20), bank="bri")

    assert response.status_code == 422
    assert "Tanggal Transaksi" in response.get_json()["errors"]["files"]["file"][0]


def test_an_import_whose_worker_died_resumes_without_duplicates(client, world, pinned_app, rq_burst, monkeypatch):
    """A worker killed after some chunks: the file is still in the database, and the same upload re-queues it;
    the lines already written are not written twice."""
    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    pinned_app.config["STATEMENT_CHUNK_LINES"] = 7
    text = big_statement(30)
    queued = post_statement(client, world["finance"], world["pkp"], text).get_json()

    class Killed(BaseException):  # not an error the import can catch and record: the process is gone
        pass

    def die_after_two_chunks(done: int) -> None:
        if done >= 14:
            raise Killed

    with pinned_app.app_context(), pytest.raises(Killed):
        now = pinned_app.config["CLOCK"]()
        statement_import.run_import(db.session, queued["import_id"], now, die_after_two_chunks, chunk=7)
    assert count_lines(pinned_app) == 14
    with pinned_app.app_context():
        redis_connection().flushdb()  # the job is gone with its worker

    resumed = post_statement(client, world["finance"], world["pkp"], text)
    assert resumed.status_code == 202 and resumed.get_json()["import_id"] == queued["import_id"]
    rq_burst("low")

    report = client.get(f"/api/v1/statement-imports/{queued['import_id']}", headers=world["finance"].headers)
    assert (report.get_json()["status"], report.get_json()["new_lines"]) == ("done", 30)
    assert count_lines(pinned_app) == 30
    assert count_lines(pinned_app, import_id=queued["import_id"]) == 30


def test_another_branch_cannot_see_an_import(client, world, pinned_app, make_staff):
    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    queued = post_statement(client, world["finance"], world["pkp"], big_statement(20)).get_json()
    ptk_finance = make_staff("branch_finance", world["ptk"], "finance.ptk")

    theirs = client.get(f"/api/v1/statement-imports/{queued['import_id']}", headers=ptk_finance.headers)
    absurd = client.get("/api/v1/statement-imports/99999999999999999999", headers=world["finance"].headers)
    admin = client.get(f"/api/v1/statement-imports/{queued['import_id']}", headers=world["admin"].headers)

    assert theirs.status_code == 404
    assert absurd.status_code == 404
    assert admin.status_code == 200 and admin.get_json()["status"] == "queued"


def test_the_finance_page_sends_a_large_upload_to_a_worker_and_shows_its_progress_then_its_report(
    client, world, pinned_app, rq_burst
):
    from tests.payments.finance.test_desk import login, upload_form

    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    login(client)

    queued = upload_form(client, big_statement(25))

    assert queued.status_code == 303
    waiting = client.get(queued.headers["Location"])
    page = waiting.get_data(as_text=True)
    assert waiting.status_code == 200
    assert 'id="import-status"' in page and "Menunggu giliran" in page and 'http-equiv="refresh"' in page
    rq_burst("low")
    done = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert 'id="import-status"' not in done and 'http-equiv="refresh"' not in done
    assert re.search(r"Baris kredit</dt><dd>25</dd>", done)
    assert 'id="report-unmatched">25<' in done


def test_a_worker_stores_why_it_refused_a_file_in_the_api_language_whatever_the_pages_default(
    client, world, pinned_app, rq_burst
):
    """A worker has no reader: its refusal is stored in English (the API's language), not in the pages' Indonesian."""
    pinned_app.config["STATEMENT_INLINE_LINES"] = 10
    content = big_statement(2_000).encode() + b"2026-11-30,TRF \x81,X,100\n"  # \x81: neither UTF-8 nor cp1252
    assert len(content) > 64_000  # past the header the request checks: the worker finds it
    data = {"bank": "generic", "file": (io.BytesIO(content), "mutasi.csv")}
    queued = client.post(
        f"/api/v1/branches/{world['pkp']}/statements",
        data=data,
        headers=world["finance"].headers,
        content_type="multipart/form-data",
    )
    assert queued.status_code == 202

    rq_burst("low")

    report = client.get(queued.headers["Location"], headers=world["finance"].headers).get_json()
    assert report["status"] == "refused"
    assert report["errors"] == ["The file is not text in UTF-8 or Windows-1252: export it as CSV."]
