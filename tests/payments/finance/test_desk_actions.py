"""Finance's desk, issue 15: approving a day's clean batches at once, the import page's skipped credits and
reused bank references, the arrears page's rupiah and chase list, the proposal form by action."""

# ruff: noqa: F811  (the tests take test_desk's ``day`` fixture, imported)

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from collection.members.models import Member
from core.audit import AuditEvent
from core.extensions import db
from payments.finance.candidates import Candidate, rank
from tests.factories import PASSWORD
from tests.payments.finance.test_desk import (  # noqa: F401
    DAY,
    STRANGER,
    arrears,
    batch_id,
    batch_status,
    code,
    day,
    deposit,
    form_token,
    login,
    parse_csv,
    upload_form,
)

DAY_PAGE = f"/keuangan/batch?date={DAY}"


def approvals_logged(app, batch: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "batch.approved", AuditEvent.entity_id == str(batch))
        )


# --- approving the clean batches of a day -------------------------------------------------------------


def test_the_clean_batches_of_a_day_are_approved_at_once_and_those_with_variances_are_left(client, day):
    login(client)
    page = client.get(DAY_PAGE).get_data(as_text=True)
    assert 'id="approve-clean"' in page and "Setujui 1 batch bersih" in page  # C only: A and B have variances
    ids = {who: batch_id(client.application, day, who) for who in ("agent", "agent_b", "agent_c")}

    answer = client.post(
        f"/keuangan/batch/setujui-bersih?date={DAY}", data={"csrf_token": form_token(client, DAY_PAGE)}
    )

    assert answer.status_code == 303
    statuses = {who: batch_status(client.application, i) for who, i in ids.items()}
    assert statuses == {"agent": "closed", "agent_b": "closed", "agent_c": "approved"}
    assert approvals_logged(client.application, ids["agent_c"]) == 1
    after = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "1 batch bersih disetujui dan dikunci; 2 lagi diperiksa satu per satu." in after
    assert 'id="approve-clean"' not in after  # nothing clean is left


def test_a_double_click_approves_once(client, day):
    login(client)
    token = form_token(client, DAY_PAGE)
    url = f"/keuangan/batch/setujui-bersih?date={DAY}"

    first = client.post(url, data={"csrf_token": token})
    second = client.post(url, data={"csrf_token": token})

    assert first.status_code == second.status_code == 303
    assert "0 batch bersih disetujui" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert approvals_logged(client.application, batch_id(client.application, day, "agent_c")) == 1


def test_approving_the_clean_batches_needs_the_forms_token_and_finance(client, day, make_staff):
    login(client)
    refused = client.post(f"/keuangan/batch/setujui-bersih?date={DAY}", data={})
    assert refused.status_code == 400
    assert batch_status(client.application, batch_id(client.application, day, "agent_c")) == "closed"

    make_staff("supervisor", day["pkp"], "sup.pkp")
    client.post("/keuangan/keluar", data={"csrf_token": form_token(client, DAY_PAGE)})
    login(client, "sup.pkp")
    assert 'id="approve-clean"' not in client.get(DAY_PAGE).get_data(as_text=True)
    forbidden = client.post(
        f"/keuangan/batch/setujui-bersih?date={DAY}", data={"csrf_token": form_token(client, DAY_PAGE)}
    )
    assert forbidden.status_code == 403
    assert batch_status(client.application, batch_id(client.application, day, "agent_c")) == "closed"


def test_the_api_approves_the_clean_batches_and_lists_those_left(client, day):
    url = f"/api/v1/branches/{day['pkp']}/batches/approve-clean"
    ids = {who: batch_id(client.application, day, who) for who in ("agent", "agent_b", "agent_c")}

    first = client.post(url, json={"date": str(DAY)}, headers=day["finance"].headers)
    again = client.post(url, json={"date": str(DAY)}, headers=day["finance"].headers)
    bad = client.post(url, json={"date": "19-11-2026"}, headers=day["finance"].headers)

    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"date": str(DAY), "approved": [ids["agent_c"]], "left": [ids["agent"], ids["agent_b"]]}
    assert again.get_json()["approved"] == [] and again.get_json()["left"] == [ids["agent"], ids["agent_b"]]
    assert bad.status_code == 422 and "date" in bad.get_json()["errors"]["json"]
    assert approvals_logged(client.application, ids["agent_c"]) == 1


# --- the import page: skipped credits; a reused bank reference --------------------------------------


def test_the_import_report_shows_the_skipped_credits_and_why(client, day):
    login(client)
    text = "date,description,reference,amount\n2026-11-20,BUNGA,,1234.56\n2026-11-20,SETORAN LAIN,,25000\n"

    page = upload_form(client, text).get_data(as_text=True)

    skipped = re.search(r'id="report-skipped">(.*?)</dd>', page, re.S).group(1)
    assert skipped.startswith("1 ") and "kredit bersen, misalnya bunga bank" in skipped


def test_a_deposit_that_reuses_another_deposits_reference_is_recorded_and_warned_on_the_batch_page(client, day):
    login(client)
    kept = day["amounts"]["agent"]  # A kept his cash: he deposits it now, on B's slip
    deposit(client, day["agent"], kept, " bri-7781", on=DAY)
    b_batch = batch_id(client.application, day, "agent_b")

    b_page = client.get(f"/keuangan/batch/{b_batch}").get_data(as_text=True)
    c_page = client.get(f"/keuangan/batch/{batch_id(client.application, day, 'agent_c')}").get_data(as_text=True)

    warnings = re.findall(r'class="warn shared-reference">(.*?)</span>', b_page, re.S)
    assert len(warnings) == 1 and code(day, "agent") in warnings[0] and "satu slip untuk dua setoran" in warnings[0]
    assert "shared-reference" not in c_page  # SETOR-C-1 is C's own


# --- the arrears page: rupiah per bucket, whom to chase ---------------------------------------------


def test_the_arrears_page_shows_rupiah_per_bucket_and_whom_to_chase_by_agent_and_village(client, arrears):
    with client.application.app_context():
        for n, member in enumerate(db.session.scalars(select(Member).where(Member.status != "active"))):
            member.village = "Desa Air Itam" if n % 2 else "Desa Bukit Intan"
            member.first_month = member.paid_through + 1  # nothing paid: he owes from the month after
            member.period_started_on = member.first_month.first_day()
        db.session.commit()
    login(client)

    page = client.get("/keuangan/tunggakan").get_data(as_text=True)

    table = re.search(r'<table class="data" id="ageing">(.*?)</table>', page, re.S).group(1)
    owed = dict(re.findall(r'data-bucket="([^"]+)">.*?<td class="num owed">Rp([\d.]+)</td>', table, re.S))
    assert set(owed) == {"1 month", "2 months", "3 months", "lapsed"}
    assert int(owed["2 months"].replace(".", "")) > int(owed["1 month"].replace(".", "")) > 0
    assert owed["3 months"] == "0"
    groups = re.findall(r'<tbody class="chase-group" data-agent="([^"]*)" data-village="([^"]*)">', page)
    assert groups == [(code(arrears, "agent"), "Desa Air Itam"), (code(arrears, "agent"), "Desa Bukit Intan")]
    rows = re.findall(r'<tr data-kpj="(\d+)">', page)
    assert len(rows) == 4 and "Daftar tagih" in page and "Jumlah tunggakan" in page


def test_the_ageing_csv_carries_the_rupiah_and_the_chase_list_downloads(client, arrears):
    with client.application.app_context():
        for member in db.session.scalars(select(Member).where(Member.status != "active")):
            member.first_month = member.paid_through + 1
            member.period_started_on = member.first_month.first_day()
        db.session.commit()
    login(client)

    ageing = parse_csv(client.get("/keuangan/tunggakan?format=csv"))
    chase = client.get("/keuangan/tunggakan/daftar-tagih.csv")

    assert [r["bucket"] for r in ageing] == ["1 month", "2 months", "3 months", "lapsed", "active"]
    assert int(ageing[0]["owed_idr"]) > 0 and ageing[4]["owed_idr"] == "0"
    lines = chase.get_data(as_text=True).splitlines()
    assert chase.status_code == 200 and chase.mimetype == "text/csv"
    assert lines[0].lstrip("\ufeff").startswith("kpj,name,status,months_owed,amount_owed_idr") and len(lines) == 5
    assert chase.headers["Content-Disposition"] == 'attachment; filename="chase-PKP-2026-11-22.csv"'


# --- the proposal form ------------------------------------------------------------------------------


def test_the_proposal_form_has_one_form_per_action_with_only_its_fields(client, day):
    login(client)

    page = client.get("/keuangan/mutasi").get_data(as_text=True)

    forms = dict(re.findall(r'<details class="propose" data-action="(\w+)"\s*>(.*?)</details>', page, re.S))
    assert set(forms) == {"deposit", "settlement", "ignore"}
    assert 'name="deposit_id"' in forms["deposit"] and 'name="provider"' not in forms["deposit"]
    assert 'name="provider"' in forms["settlement"] and 'name="deposit_id"' not in forms["settlement"]
    assert 'name="reason"' in forms["ignore"] and "<select" not in forms["ignore"]


def test_the_deposit_list_offers_that_amount_and_week_first_and_not_every_deposit(client, day):
    login(client)
    same = deposit(client, day["agent"], 500, "SLIP-W", on=DAY)  # that week, another amount
    for n in range(20):  # a busy branch: deposits of other amounts, weeks before
        deposit(client, day["agent"], 100 + n, f"OLD-{n}", on=date(2026, 11, 2))
    exact = deposit(client, day["agent"], 150, "SLIP-X", on=date(2026, 11, 2))

    page = client.get("/keuangan/mutasi").get_data(as_text=True)
    select_box = re.search(r'<select name="deposit_id">(.*?)</select>', page, re.S).group(1)
    groups = re.findall(r'<optgroup label="([^"]+)">', select_box)
    offered = re.findall(r'<option value="(\d+)"', select_box)

    assert groups == ["Minggu yang sama"] and offered == [str(same["id"])]  # the 21 old deposits are not listed
    assert str(exact["id"]) not in offered

    other = client.post(
        re.search(r'action="(/keuangan/mutasi/\d+/usul)"', page).group(1),
        data={"csrf_token": form_token(client, "/keuangan/mutasi"), "action": "deposit", "deposit_id": "",
              "deposit_other": str(exact["id"]), "reason": "slip lama"},
    )  # fmt: skip
    assert other.status_code == 303  # a deposit the list leaves out is named by its id


def test_the_likeliest_deposits_come_first_amount_and_week_then_amount_then_week():
    booked = date(2026, 11, 20)

    def dep(i: int, amount: int, on: date) -> Candidate:
        return Candidate(i, "A", amount, on, f"R{i}", "")

    deposits = [
        dep(1, 50_000, date(2026, 11, 19)),  # that week, another amount
        dep(2, 70_000, date(2026, 10, 1)),  # the amount, weeks before
        dep(3, 70_000, date(2026, 11, 18)),  # the amount, that week
        dep(4, 10_000, date(2026, 9, 1)),  # neither: not offered
        dep(5, 70_000, date(2026, 11, 20)),  # the amount, the very day
    ]

    ranked = rank(70_000, booked, deposits)

    assert [(c.deposit_id, c.kind) for c in ranked] == [
        (5, "amount_week"),
        (3, "amount_week"),
        (2, "amount"),
        (1, "week"),
    ]
    assert len(rank(70_000, booked, [dep(i, 70_000, booked) for i in range(40)])) == 15


def test_the_agent_who_declares_a_reference_already_used_is_told_and_the_deposit_is_recorded(client, day):
    agent_page = client.get("/agen/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', agent_page).group(1)
    client.post("/agen/masuk", data={"csrf_token": token, "username": "agent.pkp", "password": PASSWORD})
    form = client.get("/agen/setoran").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    saved = client.post(
        "/agen/setoran",
        data={"csrf_token": token, "idempotency_key": key, "amount_idr": "1.000", "bank_reference": "BRI-7781"},
    )

    assert saved.status_code == 303
    home = client.get("/agen/").get_data(as_text=True)
    assert "Referensi bank ini juga tercantum pada setoran lain" in home
