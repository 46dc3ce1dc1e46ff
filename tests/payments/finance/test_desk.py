"""Branch finance's desktop pages (/keuangan) through the Flask client: login, batches, the unmatched queue with
maker-checker, reports with their charts, and every list's CSV export."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from collection.members.arrears import MemberStatus
from collection.members.models import Member
from core.extensions import db
from core.months import Month
from organisation.models import StaffUser
from payments.finance.batch_pages import BATCH_HEADER
from payments.finance.models import MatchProposal, StatementImport
from payments.ledger.models import DailyBatch, Payment, Receipt
from tests.factories import PASSWORD, nik_for

DAY = date(2026, 11, 19)  # a Thursday; the pinned now is Sunday 22 November, past the deposit deadline (Friday)
STRANGER = 1_000_000  # a credit on the statement that no agent declared


# --- helpers ------------------------------------------------------------------------------------------


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def login(client: Any, username: str = "finance.pkp", password: str = PASSWORD) -> Any:
    page = client.get("/keuangan/masuk").get_data(as_text=True)
    return client.post("/keuangan/masuk", data={"csrf_token": token(page), "username": username, "password": password})


def logged_in(app: Any, username: str) -> Any:
    """A second browser, logged in as ``username``."""
    other = app.test_client()
    assert login(other, username).status_code == 303
    return other


def form_token(client: Any, path: str) -> str:
    return token(client.get(path).get_data(as_text=True))


def rp(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")


def pay(client: Any, agent: Any, member_id: int, months: int = 1, paid_on: date = DAY) -> dict[str, Any]:
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"member_id": member_id, "months": months, "paid_on": paid_on.isoformat()}
    response = client.post("/api/v1/contributions", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deposit(client: Any, agent: Any, amount: int, reference: str, on: date = DAY) -> dict[str, Any]:
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount_idr": amount, "bank_reference": reference, "deposited_on": on.isoformat()}
    response = client.post("/api/v1/deposits", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def statement(*lines: tuple[str, str, str, int]) -> str:
    """A generic-format statement covering 18–21 November (a bank fee on each end)."""
    rows = ["date,description,reference,amount", "2026-11-18,BIAYA ADMIN,,-5000"]
    rows += [f"{day},{text},{ref},{amount}" for day, text, ref, amount in lines]
    rows.append("2026-11-21,BIAYA ADMIN,,-5000")
    return "\n".join(rows) + "\n"


def upload_form(client: Any, text: str, bank: str = "generic", name: str = "mutasi.csv") -> Any:
    data = {
        "csrf_token": form_token(client, "/keuangan/mutasi"),
        "bank": bank,
        "file": (io.BytesIO(text.encode()), name),
    }
    return client.post("/keuangan/mutasi/unggah", data=data, content_type="multipart/form-data")


def parse_csv(response: Any) -> list[dict[str, str]]:
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def code(world: dict[str, Any], who: str) -> str:
    return f"A-{world[who].id}"


def batch_id(app: Any, world: dict[str, Any], who: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(DailyBatch.id).where(DailyBatch.agent_id == world[who].agent_id))
        assert found is not None
        return found


def batch_status(app: Any, id_: int) -> str:
    with app.app_context():
        return db.session.get(DailyBatch, id_).status


def row_of(page: str, agent_code: str) -> str:
    match = re.search(rf'<tr class="batch[^"]*" data-agent="{agent_code}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {agent_code}"
    return match.group(1)


def bars(page: str) -> int:
    return len(re.findall(r'<rect class="bar series-\d+"', page))


@pytest.fixture
def day(pinned_app, client, world, make_staff, enrol):
    """The branch's 19 November: agent A kept his cash, B's deposit came 5.000 short to the bank, C is clean;
    the statement also holds a credit nobody declared. The day is closed into batches."""
    world["agent_b"] = make_staff("agent", world["pkp"], "agent.b")
    world["agent_c"] = make_staff("agent", world["pkp"], "agent.c")
    world["finance_2"] = make_staff("branch_finance", world["pkp"], "finance.two")
    amounts, members = {}, {}
    for serial, who in enumerate(("agent", "agent_b", "agent_c"), start=1):
        members[who] = enrol(as_=who, nik=nik_for(serial=serial))
        amounts[who] = pay(client, world[who], members[who]["id"], months=3)["amount_idr"]
    world["deposit_b"] = deposit(client, world["agent_b"], amounts["agent_b"], "BRI-7781")
    deposit(client, world["agent_c"], amounts["agent_c"], "SETOR-C-1")
    text = statement(
        ("2026-11-19", "SETORAN TUNAI BRI-7781", "", amounts["agent_b"] - 5_000),
        ("2026-11-19", "SETORAN TUNAI", "SETOR-C-1", amounts["agent_c"]),
        ("2026-11-20", "TRF DARI PEMDA BANGKA", "", STRANGER),
    )
    data = {"bank": "generic", "file": (io.BytesIO(text.encode()), "mutasi.csv")}
    imported = client.post(
        f"/api/v1/branches/{world['pkp']}/statements",
        data=data,
        headers=world["finance"].headers,
        content_type="multipart/form-data",
    )
    assert imported.status_code == 201 and imported.get_json()["unmatched"] == 1, imported.get_json()
    closed = client.post(
        f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": str(DAY)}, headers=world["finance"].headers
    )
    assert closed.get_json() == {"created": 3}
    world["amounts"], world["members"], world["statement"] = amounts, members, text
    return world


# --- login --------------------------------------------------------------------------------------------


def test_pages_need_a_login(client, world):
    response = client.get("/keuangan/batch?date=2026-11-19")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/keuangan/masuk?next=")


def test_an_agent_cannot_log_in_to_the_finance_pages(client, world):
    refused = login(client, "agent.pkp")
    page = client.get("/keuangan/")

    assert refused.status_code == 403
    assert "untuk keuangan cabang" in refused.get_data(as_text=True)
    assert page.status_code == 302 and "/keuangan/masuk" in page.headers["Location"]


def test_an_agents_session_from_the_agents_app_does_not_open_the_finance_pages(client, world):
    from tests.agents.field.test_pages import login as agent_login

    assert agent_login(client).status_code == 302
    assert client.get("/agen/").status_code == 200

    assert client.get("/keuangan/").status_code == 302


def test_a_wrong_password_is_refused_and_the_sixth_try_is_throttled(client, world):
    statuses = [login(client, password="wrong").status_code for _ in range(6)]

    assert statuses == [401] * 5 + [429]
    assert login(client).status_code == 429  # even the right password waits out the window


def test_a_login_without_the_forms_token_is_refused(client, world):
    response = client.post("/keuangan/masuk", data={"username": "finance.pkp", "password": PASSWORD})

    assert response.status_code == 400
    assert client.get("/keuangan/").status_code == 302


def test_finance_logs_in_lands_on_todays_batches_and_logs_out(client, world):
    response = login(client)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    logout = client.post("/keuangan/keluar", data={"csrf_token": token(page)})

    assert response.status_code == 303
    assert "2026-11-22" in page  # the branch's today at the pinned clock
    assert "Tidak ada agen yang mencatat" in page
    assert logout.status_code == 303
    assert client.get("/keuangan/").status_code == 302


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client, world):
    page = client.get("/keuangan/masuk").get_data(as_text=True)
    form = {"csrf_token": token(page), "username": "finance.pkp", "password": PASSWORD}

    inside = client.post("/keuangan/masuk?next=/keuangan/tunggakan", data=form)
    client.post("/keuangan/keluar", data={"csrf_token": form_token(client, "/keuangan/tunggakan")})
    form["csrf_token"] = form_token(client, "/keuangan/masuk")
    outside = client.post("/keuangan/masuk?next=//evil.test/", data=form)

    assert inside.headers["Location"] == "/keuangan/tunggakan"
    assert outside.headers["Location"] == "/keuangan/batch"


def test_the_pages_need_nothing_from_the_internet(client, world):
    with client.get("/keuangan/static/keuangan/finance.css") as css:
        served = (css.status_code, css.mimetype, b"table.data" in css.data)
    page = client.get("/keuangan/masuk").get_data(as_text=True)

    assert served == (200, "text/css", True)
    assert 'href="/keuangan/static/keuangan/finance.css' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


# --- batches ------------------------------------------------------------------------------------------


def test_the_batches_page_shows_each_agent_with_status_figures_and_variances(client, day):
    login(client)
    amounts = day["amounts"]

    page = client.get("/keuangan/batch?date=2026-11-19").get_data(as_text=True)
    a, b, c = (row_of(page, code(day, who)) for who in ("agent", "agent_b", "agent_c"))

    assert len(re.findall(r'<tr class="batch', page)) == 3
    assert "Ditutup" in a and "Ditutup" in c  # closed by the day-end
    assert rp(amounts["agent"]) in a and "Belum disetor" in a and "paling lambat 20 Nov 2026" in a
    assert "belum disetor sampai 20 Nov 2026" in a  # the variance's cause, worded in the reader's language
    assert rp(amounts["agent_b"] - 5_000) in b and "Kurang di bank" in b and rp(5_000) in b and "BRI-7781" in b
    assert "Kurang di bank" not in c and "Belum disetor</span>" not in c
    assert f'href="/keuangan/batch/{batch_id(client.application, day, "agent_c")}"' in c
    assert 'href="/keuangan/batch?date=2026-11-18"' in page and 'href="/keuangan/batch?date=2026-11-20"' in page
    assert 'type="date" name="date" value="2026-11-19"' in page


def test_the_batches_page_speaks_english_on_request(client, day):
    login(client)

    page = client.get("/keuangan/batch?date=2026-11-19&lang=en").get_data(as_text=True)

    assert "Agents' daily batches" in page and "Short in the bank" in page
    assert "Kurang di bank" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/keuangan/batch?date=2026-02-30",
        "/keuangan/batch?date=0001-01-01",
        "/keuangan/batch?date=9999-12-31",
        "/keuangan/setoran-harian?from=0001-01-01",
        "/keuangan/setoran-harian?to=kemarin",
    ],
)
def test_a_day_that_is_not_a_date_is_a_400_not_a_500(client, day, path):
    login(client)

    response = client.get(path)

    assert response.status_code == 400
    assert "TTTT-BB-HH" in response.get_data(as_text=True)


def test_the_batch_detail_shows_deposits_with_their_bank_lines_and_the_days_contributions(client, day):
    login(client)
    with client.application.app_context():
        receipt = db.session.scalar(
            select(Receipt.number)
            .join(Payment, Payment.id == Receipt.payment_id)
            .where(Payment.agent_id == day["agent_b"].agent_id)
        )
    page = client.get(f"/keuangan/batch/{batch_id(client.application, day, 'agent_b')}").get_data(as_text=True)
    deposits = re.search(r'<table class="data" id="deposits">(.*?)</table>', page, re.S).group(1)
    contributions = re.search(r'<table class="data" id="contributions">(.*?)</table>', page, re.S).group(1)
    member = day["members"]["agent_b"]

    assert f"<td>{day['deposit_b']['id']}</td>" in deposits and "BRI-7781" in deposits
    assert "SETORAN TUNAI BRI-7781" in deposits and "19 Nov 2026" in deposits and "cocok referensi" in deposits
    assert rp(day["amounts"]["agent_b"] - 5_000) in deposits
    assert receipt and receipt in contributions
    assert member["kpj"] in contributions and rp(day["amounts"]["agent_b"]) in contributions
    assert len(re.findall(r'<tr class="payment-settled">', contributions)) == 1
    assert 'id="approve-form"' in page and 'id="return-form"' in page


def test_approving_a_batch_with_variances_needs_a_note_then_locks_it(client, day):
    login(client)
    batch = batch_id(client.application, day, "agent_b")
    url = f"/keuangan/batch/{batch}"

    without = client.post(f"{url}/setujui", data={"csrf_token": form_token(client, url), "note": "  "})
    status_after_refusal = batch_status(client.application, batch)
    approved = client.post(f"{url}/setujui", data={"csrf_token": form_token(client, url), "note": "biaya bank Rp5.000"})
    page = client.get(url).get_data(as_text=True)

    assert without.status_code == 422
    assert "Batch ini ada selisih: tulis di catatan mengapa tetap disetujui." in without.get_data(as_text=True)
    assert re.search(r'<textarea name="note"[^>]*aria-invalid="true"', without.get_data(as_text=True))
    assert status_after_refusal == "closed"
    assert approved.status_code == 303 and approved.headers["Location"] == url
    assert batch_status(client.application, batch) == "approved"
    assert "Batch disetujui dan dikunci." in page
    assert 'id="locked"' in page
    decision = re.search(r'<dl class="figures" id="decision">(.*?)</dl>', page, re.S).group(1)
    assert "Test branch_finance" in decision and "biaya bank Rp5.000" in decision
    assert "22 Nov 2026 09.00 WIB" in decision
    assert 'id="approve-form"' not in page and 'id="return-form"' not in page


def test_a_batch_without_variances_is_approved_without_a_note(client, day):
    login(client)
    batch = batch_id(client.application, day, "agent_c")
    url = f"/keuangan/batch/{batch}"

    response = client.post(f"{url}/setujui", data={"csrf_token": form_token(client, url)})

    assert response.status_code == 303
    assert batch_status(client.application, batch) == "approved"


def test_returning_a_batch_needs_a_reason_and_sends_it_back(client, day):
    login(client)
    batch = batch_id(client.application, day, "agent")
    url = f"/keuangan/batch/{batch}"

    short = client.post(f"{url}/kembalikan", data={"csrf_token": form_token(client, url), "reason": "x"})
    returned = client.post(
        f"{url}/kembalikan", data={"csrf_token": form_token(client, url), "reason": "Setoran tgl 19 belum ada di bank"}
    )
    page = client.get(url).get_data(as_text=True)

    assert short.status_code == 422 and "reason" in short.get_data(as_text=True)
    assert returned.status_code == 303
    assert batch_status(client.application, batch) == "returned"
    assert "Batch dikembalikan ke agen." in page
    assert "Setoran tgl 19 belum ada di bank" in page and 'class="badge badge-returned"' in page


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, day):
    login(client)
    batch = batch_id(client.application, day, "agent_c")

    missing = client.post(f"/keuangan/batch/{batch}/setujui", data={})
    wrong = client.post(f"/keuangan/batch/{batch}/setujui", data={"csrf_token": "not-the-sessions"})

    assert missing.status_code == 400 and wrong.status_code == 400
    assert "Formulir kedaluwarsa" in missing.get_data(as_text=True)
    assert batch_status(client.application, batch) == "closed"


def test_a_supervisor_sees_a_batch_but_only_finance_approves_it(client, day):
    login(client, "supervisor.pkp")
    batch = batch_id(client.application, day, "agent_c")
    url = f"/keuangan/batch/{batch}"

    page = client.get(url).get_data(as_text=True)
    response = client.post(f"{url}/setujui", data={"csrf_token": token(page)})

    assert 'id="approve-form"' not in page and "Hanya keuangan cabang atau admin" in page
    assert response.status_code == 403
    assert batch_status(client.application, batch) == "closed"


def test_another_branchs_finance_cannot_open_this_branchs_batch(client, day, make_staff):
    make_staff("branch_finance", day["ptk"], "finance.ptk")
    login(client, "finance.ptk")

    response = client.get(f"/keuangan/batch/{batch_id(client.application, day, 'agent')}")

    assert response.status_code == 404


def test_an_admin_picks_a_branch_first(client, day):
    login(client, "admin")

    choose = client.get("/keuangan/")
    chosen = client.get(f"/keuangan/batch?date=2026-11-19&cabang={day['pkp']}")
    remembered = client.get("/keuangan/batch?date=2026-11-19")

    assert choose.status_code == 200
    assert f"?cabang={day['pkp']}" in choose.get_data(as_text=True)
    assert f"?cabang={day['ptk']}" in choose.get_data(as_text=True)
    assert len(re.findall(r'<tr class="batch', chosen.get_data(as_text=True))) == 3
    assert len(re.findall(r'<tr class="batch', remembered.get_data(as_text=True))) == 3


# --- the unmatched queue ------------------------------------------------------------------------------


def test_the_unmatched_queue_holds_the_credit_nobody_declared(client, day):
    login(client)

    page = client.get("/keuangan/mutasi").get_data(as_text=True)
    table = re.search(r'<table class="data" id="unmatched">(.*?)</table>', page, re.S).group(1)

    assert len(re.findall(r'<tr class="line"', table)) == 1
    assert "TRF DARI PEMDA BANGKA" in table and rp(STRANGER) in table and "20 Nov 2026" in table
    assert "tidak ada setoran atau pencairan penyedia dengan referensi atau jumlah ini" in table
    assert 'class="row-form propose-form"' in table
    assert '<option value="generic"' in page and 'enctype="multipart/form-data"' in page


def proposal_of(app: Any) -> int:
    with app.app_context():
        found = db.session.scalar(select(MatchProposal.id))
        assert found is not None
        return found


def test_a_proposal_needs_a_second_person_and_the_proposer_is_told_so(client, day):
    login(client)
    line = re.search(r'action="/keuangan/mutasi/(\d+)/usul"', client.get("/keuangan/mutasi").get_data(as_text=True))
    reason = "Transfer APBD untuk program sponsor, bukan setoran agen"

    proposed = client.post(
        f"/keuangan/mutasi/{line.group(1)}/usul",
        data={"csrf_token": form_token(client, "/keuangan/mutasi"), "action": "ignore", "reason": reason},
    )
    mine = client.get("/keuangan/mutasi").get_data(as_text=True)
    proposal_id = proposal_of(client.application)
    by_maker = client.post(
        f"/keuangan/usulan/{proposal_id}/putuskan", data={"csrf_token": token(mine), "decision": "approve"}
    )
    checker = logged_in(client.application, "finance.two")
    theirs = checker.get("/keuangan/mutasi").get_data(as_text=True)
    by_checker = checker.post(
        f"/keuangan/usulan/{proposal_id}/putuskan",
        data={"csrf_token": token(theirs), "decision": "approve", "note": "cek SP2D"},
    )
    after = checker.get("/keuangan/mutasi").get_data(as_text=True)

    assert proposed.status_code == 303
    assert "Usulan Anda: orang kedua harus menyetujui" in mine and reason in mine
    assert 'class="row-form decide-form"' not in mine  # the proposer gets no decision form for his own proposal
    assert by_maker.status_code == 403
    refusal = by_maker.get_data(as_text=True)
    assert 'class="error-box refusal"' in refusal and "orang kedua harus menyetujui atau menolaknya" in refusal
    assert 'class="row-form decide-form"' in theirs and "Test branch_finance" in theirs
    assert by_checker.status_code == 303
    assert "Semua mutasi sudah cocok." in after


def test_a_proposal_without_a_reason_or_deposit_is_refused_on_the_page(client, day):
    login(client)
    page = client.get("/keuangan/mutasi").get_data(as_text=True)
    line = re.search(r'action="/keuangan/mutasi/(\d+)/usul"', page).group(1)

    no_reason = client.post(
        f"/keuangan/mutasi/{line}/usul", data={"csrf_token": token(page), "action": "ignore", "reason": ""}
    )
    no_deposit = client.post(
        f"/keuangan/mutasi/{line}/usul", data={"csrf_token": token(page), "action": "deposit", "reason": "slip cocok"}
    )

    assert no_reason.status_code == 422 and 'id="propose-error"' in no_reason.get_data(as_text=True)
    assert no_deposit.status_code == 422
    assert "Sebutkan setoran untuk mutasi ini" in no_deposit.get_data(as_text=True)


def test_a_proposal_to_match_a_deposit_offers_the_branchs_unbanked_deposits(client, day):
    login(client)
    extra = deposit(client, day["agent"], 20_000, "SLIP-A-9")

    page = client.get("/keuangan/mutasi").get_data(as_text=True)
    line = re.search(r'action="/keuangan/mutasi/(\d+)/usul"', page).group(1)
    response = client.post(
        f"/keuangan/mutasi/{line}/usul",
        data={"csrf_token": token(page), "action": "deposit", "deposit_id": str(extra["id"]), "reason": "slip"},
    )

    assert f'<option value="{extra["id"]}"' in page and "SLIP-A-9" in page
    assert f'<option value="{day["deposit_b"]["id"]}"' not in page  # matched to its bank line already
    assert response.status_code == 303
    assert f"#{extra['id']}" in client.get("/keuangan/mutasi").get_data(as_text=True)


def test_uploading_a_statement_shows_the_import_report_and_the_same_file_again_changes_nothing(client, day):
    login(client)
    text = statement(("2026-11-21", "SETORAN TUNAI", "ZZZ-1", 42_000), ("2026-11-21", "BUNGA", "", 1_234))

    first = upload_form(client, text)
    again = upload_form(client, text, name="lagi.csv")

    page = first.get_data(as_text=True)
    assert first.status_code == 201
    report = re.search(r'<div class="report" id="import-report"(.*?)</div>', page, re.S).group(1)
    assert "mutasi.csv" in report and "18 Nov 2026 – 21 Nov 2026" in report
    assert re.search(r"Baris kredit</dt><dd>2</dd>", report) and re.search(
        r"Baris debet \(dilewati\)</dt><dd>2</dd>", report
    )
    assert 'id="report-unmatched">2<' in report
    assert len(re.findall(r'<tr class="line"', page)) == 3  # the queue under it now has the two new credits
    assert again.status_code == 200 and "sudah pernah diimpor" in again.get_data(as_text=True)


def test_a_statement_with_bad_rows_names_every_bad_row_and_imports_nothing(client, day):
    login(client)
    text = "date,description,reference,amount\n2026-11-19,X,,12x5\n19/11/2026,Y,,1000\n2026-11-20,Z,,1000\n"

    response = upload_form(client, text)
    wrong_bank = upload_form(client, text, bank="bri")

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = re.search(r'<ul class="row-errors">(.*?)</ul>', page, re.S).group(1)
    assert "baris 2: kolom amount" in errors and "baris 3: kolom date" in errors and "baris 4" not in errors
    assert wrong_bank.status_code == 422 and "Tanggal Transaksi" in wrong_bank.get_data(as_text=True)
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementImport)) == 1  # the fixture's


def test_an_upload_without_a_file_is_refused(client, day):
    login(client)

    response = client.post(
        "/keuangan/mutasi/unggah",
        data={"csrf_token": form_token(client, "/keuangan/mutasi"), "bank": "generic"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422 and "Pilih berkas rekening koran" in response.get_data(as_text=True)


# --- reports ------------------------------------------------------------------------------------------


@pytest.fixture
def arrears(client, day, enrol):
    """Four more members, as the reconciliation would leave them: owing 1 month, 2 months (two), and lapsed."""
    standings = [
        (MemberStatus.IN_ARREARS, Month(2026, 10)),
        (MemberStatus.IN_ARREARS, Month(2026, 9)),
        (MemberStatus.IN_ARREARS, Month(2026, 9)),
        (MemberStatus.LAPSED, Month(2026, 6)),
    ]
    ids = [enrol(nik=nik_for(serial=10 + n))["id"] for n in range(len(standings))]
    with client.application.app_context():
        for member_id, (status, paid_through) in zip(ids, standings, strict=True):
            member = db.session.get(Member, member_id)
            member.status, member.paid_through = status, paid_through
        db.session.commit()
    return day


def test_the_ageing_page_counts_members_per_bucket_with_a_bar_each(client, arrears):
    login(client)

    page = client.get("/keuangan/tunggakan").get_data(as_text=True)
    table = re.search(r'<table class="data" id="ageing">(.*?)</table>', page, re.S).group(1)
    counts = dict(re.findall(r'data-bucket="([^"]+)"><th scope="row">[^<]+</th><td class="num">(\d+)</td>', table))

    assert counts == {"1 month": "1", "2 months": "2", "3 months": "0", "lapsed": "1", "active": "3"}
    assert "<svg" in page and bars(page) == 4
    assert '<title id="' in page and "Peserta menunggak per kelompok umur" in page
    assert "<title>2 bulan: 2</title>" in page  # each bar says its number
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_ageing_csv_has_a_row_per_bucket_and_active(client, arrears):
    login(client)

    response = client.get("/keuangan/tunggakan?format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == 'attachment; filename="arrears-ageing-PKP-2026-11-22.csv"'
    assert [(r["on"], r["bucket"], r["members"]) for r in rows] == [
        ("2026-11-22", "1 month", "1"),
        ("2026-11-22", "2 months", "2"),
        ("2026-11-22", "3 months", "0"),
        ("2026-11-22", "lapsed", "1"),
        ("2026-11-22", "active", "3"),
    ]


def test_collections_per_day_shows_thirty_days_by_channel_with_a_stacked_chart(client, day):
    login(client)
    cash = sum(day["amounts"].values())

    page = client.get("/keuangan/setoran-harian").get_data(as_text=True)
    rows = re.findall(r'<tr data-day="([0-9-]+)"', page)
    the_day = re.search(r'<tr data-day="2026-11-19">(.*?)</tr>', page, re.S).group(1)

    assert rows[0] == "2026-10-24" and rows[-1] == "2026-11-22" and len(rows) == 30
    assert bars(page) == 30 * 6  # cash, auto-debit, sponsor, bank transfer, virtual account and QRIS for each day
    assert len(re.findall(r'<rect class="bar series-0"', page)) == 30
    assert re.findall(r'<td class="num">([^<]+)</td>', the_day) == [rp(cash), *["Rp0"] * 5, rp(cash), "3"]
    assert f"<title>19/11 · Tunai: {cash:,}</title>".replace(",", ".") in page
    assert 'class="legend"' in page


def test_collections_for_a_chosen_range_and_a_backwards_range_is_refused(client, day):
    login(client)

    three = client.get("/keuangan/setoran-harian?from=2026-11-18&to=2026-11-20").get_data(as_text=True)
    backwards = client.get("/keuangan/setoran-harian?from=2026-11-20&to=2026-11-18")

    assert re.findall(r'<tr data-day="([0-9-]+)"', three) == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert bars(three) == 18
    assert backwards.status_code == 400


# --- CSV exports --------------------------------------------------------------------------------------


def test_the_batches_csv_has_a_row_per_agent_with_plain_figures(client, day):
    login(client)
    amounts = day["amounts"]

    response = client.get("/keuangan/batch?date=2026-11-19&format=csv")
    rows = {r["agent_code"]: r for r in parse_csv(response)}
    header = next(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))

    assert response.headers["Content-Disposition"] == 'attachment; filename="batches-PKP-2026-11-19.csv"'
    assert header == list(BATCH_HEADER)
    assert set(rows) == {code(day, w) for w in ("agent", "agent_b", "agent_c")}
    a, b, c = (rows[code(day, w)] for w in ("agent", "agent_b", "agent_c"))
    assert (a["status"], a["collected_idr"], a["undeposited_idr"], a["deposit_due_by"]) == (
        "closed",
        str(amounts["agent"]),
        str(amounts["agent"]),
        "2026-11-20",
    )
    assert a["variances"].startswith("missing_deposit: ")
    assert (b["banked_idr"], b["variance_idr"]) == (str(amounts["agent_b"] - 5_000), "5000")
    assert b["variances"].startswith("short_in_bank: ") and "BRI-7781" in b["variances"]
    assert (c["collected_idr"], c["deposited_idr"], c["banked_idr"], c["variance_idr"], c["pending"]) == (
        str(amounts["agent_c"]),
        str(amounts["agent_c"]),
        str(amounts["agent_c"]),
        "0",
        "",
    )
    assert all(r["business_date"] == "2026-11-19" and r["contributions"] == "1" for r in rows.values())
    assert int(c["batch_id"]) == batch_id(client.application, day, "agent_c")


def test_a_batchs_contributions_csv(client, day):
    login(client)
    batch = batch_id(client.application, day, "agent_b")

    response = client.get(f"/keuangan/batch/{batch}?format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="batch-{code(day, "agent_b")}-2026-11-19-contributions.csv"'
    )
    assert [(r["kpj"], r["amount_idr"], r["status"], r["business_date"]) for r in rows] == [
        (day["members"]["agent_b"]["kpj"], str(day["amounts"]["agent_b"]), "settled", "2026-11-19")
    ]
    assert rows[0]["receipt"] and "T" in rows[0]["recorded_at"]


def test_the_unmatched_csv_lists_the_queue_with_any_open_proposal(client, day):
    login(client)
    page = client.get("/keuangan/mutasi").get_data(as_text=True)
    line = re.search(r'action="/keuangan/mutasi/(\d+)/usul"', page).group(1)
    client.post(f"/keuangan/mutasi/{line}/usul", data={"csrf_token": token(page), "action": "ignore", "reason": "APBD"})

    response = client.get("/keuangan/mutasi?format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == 'attachment; filename="unmatched-PKP-2026-11-22.csv"'
    assert [
        (r["line_id"], r["booked_on"], r["amount_idr"], r["description"], r["proposed_action"], r["proposed_by"])
        for r in rows
    ] == [(line, "2026-11-20", str(STRANGER), "TRF DARI PEMDA BANGKA", "ignore", "Test branch_finance")]
    assert rows[0]["why_unmatched"] == "tidak ada setoran atau pencairan penyedia dengan referensi atau jumlah ini"


def test_the_collections_csv_has_every_day_of_the_range(client, day):
    login(client)
    cash = sum(day["amounts"].values())

    response = client.get("/keuangan/setoran-harian?from=2026-11-18&to=2026-11-20&format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == (
        'attachment; filename="collections-PKP-2026-11-18-2026-11-20.csv"'
    )
    assert [(r["date"], r["cash_idr"], r["total_idr"], r["payments"]) for r in rows] == [
        ("2026-11-18", "0", "0", "0"),
        ("2026-11-19", str(cash), str(cash), "3"),
        ("2026-11-20", "0", "0", "0"),
    ]


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralised(client, day):
    with client.application.app_context():
        db.session.get(StaffUser, day["agent"].id).full_name = '=HYPERLINK("http://evil.test","klik")'
        db.session.commit()
    login(client)
    upload_form(client, statement(("2026-11-21", "@SUM(1+1) TRF", "-2+3", 77_000)))

    batches = {r["agent_code"]: r for r in parse_csv(client.get("/keuangan/batch?date=2026-11-19&format=csv"))}
    queue = {r["amount_idr"]: r for r in parse_csv(client.get("/keuangan/mutasi?format=csv"))}
    page = client.get("/keuangan/batch?date=2026-11-19").get_data(as_text=True)

    assert batches[code(day, "agent")]["agent_name"] == '\'=HYPERLINK("http://evil.test","klik")'
    assert queue["77000"]["description"] == "'@SUM(1+1) TRF"
    assert queue["77000"]["reference"] == "'-2+3"
    assert queue["77000"]["amount_idr"] == "77000"  # numbers stay numbers
    assert "=HYPERLINK(&#34;http://evil.test&#34;,&#34;klik&#34;)" in page  # and HTML shows the text, escaped


def test_a_statements_unreadable_rows_are_named_in_indonesian_on_the_desk(client, world):
    """The parse (a pure rule) writes its row problems in English; the desk shows them in the reader's language."""
    login(client)
    text = statement(("2026-11-19", "SETORAN", "R1", 16_800)) + "2026-11-31,TRF,X,100\n2026-11-20,TRF,Y,1.5x\n"

    page = upload_form(client, text).get_data(as_text=True)
    errors = re.search(r'<ul class="row-errors">(.*?)</ul>', page, re.S).group(1)

    assert (
        "baris 5: kolom date: &#39;2026-11-31&#39; bukan tanggal dalam format bank ini (tulis seperti 2026-11-22)"
        in (errors)
    )
    assert "baris 6: kolom amount: &#39;1.5x&#39; bukan jumlah dalam format bank ini" in errors
    assert "row " not in errors and "column" not in errors
