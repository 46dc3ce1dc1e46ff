"""The finance pages of issue #6 (/keuangan) through the Flask client: the month's incentives with finance's
approval, one agent's statement, coverage by regency with its targets form, collections by channel per month,
the agent scorecard and sponsor retention, each with its chart and a CSV that matches the service's figures."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from agents.incentives.models import IncentiveStatement
from agents.incentives.pages import INCENTIVE_AGENT_HEADER
from agents.incentives.texts import CSV_COLUMNS
from collection.sponsors.programmes import end_finished_programmes
from core.extensions import db
from core.months import Month
from organisation.models import Branch
from payments.finance.models import RegencyTarget
from payments.finance.report_pages import SCORECARD_HEADER
from payments.finance.reports import agent_scorecard, collections_by_channel, coverage_by_regency
from tests.agents.incentives.test_statements import OCTOBER_28, OCTOBER_30, at, enrol_many, month_of, settle_the_day
from tests.agents.incentives.test_statements import pay as pay_now
from tests.factories import NOW, nik_for
from tests.payments.finance.test_desk import bars, form_token, logged_in, login, parse_csv, pay, rp, token

OCTOBER = "2026-10"


def table(page: str, ident: str) -> str:
    match = re.search(rf'<table class="data" id="{ident}">(.*?)</table>', page, re.S)
    assert match, f"no table {ident}"
    return match.group(1)


def row(page: str, attribute: str, value: str) -> str:
    match = re.search(rf'<tr {attribute}="{re.escape(value)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row {attribute}={value}"
    return match.group(1)


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r'<td class="num">(.*?)</td>', html, re.S)]


def statements_stored(app: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(IncentiveStatement)) or 0)


@pytest.fixture
def october(pinned_app, client, world, make_staff):
    """October 2026 at branch PKP: agent A enrolled 25 new NIKs and collected from two members on the 28th
    (deposited, banked and approved), and from a third on the 30th (never deposited: pending). Agent B did
    nothing. The clock is back at the pinned 22 November."""
    world["agent_b"] = make_staff("agent", world["pkp"], "agent.b")
    at(pinned_app, OCTOBER_28)
    members = enrol_many(client, world["agent"], 25, package="JKK+JKM+JHT")
    amounts = [pay_now(client, world["agent"], m)["amount_idr"] for m in members[:2]]
    settle_the_day(client, world, sum(amounts), date(2026, 10, 28))
    at(pinned_app, OCTOBER_30)
    pending = pay_now(client, world["agent"], members[2])["amount_idr"]
    at(pinned_app, NOW)
    world.update(members=members, amounts=amounts, pending=pending)
    return world


def agent_code(world: dict[str, Any], who: str = "agent") -> str:
    return f"A-{world[who].id}"


# --- the month's incentives ---------------------------------------------------------------------------


def test_the_incentives_page_shows_last_month_per_agent_and_per_wadah_with_a_chart(client, october):
    login(client)
    earned = sum(round(a * 0.15) for a in october["amounts"])
    payable = 25 * 15_000 + earned

    page = client.get("/keuangan/insentif").get_data(as_text=True)
    a = row(page, "data-agent", agent_code(october))
    b = row(page, "data-agent", agent_code(october, "agent_b"))
    wadahs = table(page, "wadahs")

    assert "Insentif agen dan Wadah · 2026-10" in page  # last month, by default
    assert 'data-status="draft"' in page and 'id="approve-month-form"' in page
    assert cells(a) == [
        "25",
        rp(25 * 15_000),
        rp(earned),
        "Rp0",
        "Rp0",
        rp(payable),
        rp(payable),
        "Rp0",
        rp(round(october["pending"] * 0.15)),
    ]
    assert "<td>ya</td>" in a and "<td>tidak</td>" in b
    assert cells(b) == ["0"] + ["Rp0"] * 8
    assert f'href="/keuangan/insentif/{october["agent"].agent_id}?month=2026-10"' in a
    assert len(re.findall(r"<tr data-wadah=", wadahs)) == 2  # each test agent has a Wadah of his own
    assert rp(round(payable * 0.10)) in wadahs and "10% dari " + rp(payable) in wadahs
    assert re.search(r'id="payable-all">' + re.escape(rp(payable + round(payable * 0.10))) + "<", page)
    assert bars(page) == 2 and f"<title>{agent_code(october)}: {payable:,}</title>".replace(",", ".") in page


def test_the_incentive_csvs_have_a_row_per_agent_and_per_wadah_matching_the_statements(client, october):
    login(client)
    body = month_of(client, october, OCTOBER)

    agents = client.get("/keuangan/insentif?month=2026-10&format=csv")
    wadahs = client.get("/keuangan/insentif?month=2026-10&format=csv&holder=wadah")
    by_agent = {r["agent_id"]: r for r in parse_csv(agents)}
    by_wadah = {r["wadah_id"]: r for r in parse_csv(wadahs)}

    assert agents.headers["Content-Disposition"] == 'attachment; filename="incentives-PKP-2026-10-agents.csv"'
    assert wadahs.headers["Content-Disposition"] == 'attachment; filename="incentives-PKP-2026-10-wadahs.csv"'
    assert list(parse_csv(agents)[0]) == list(INCENTIVE_AGENT_HEADER)
    assert len(by_agent) == len(body["agents"]) == 2
    for expected in body["agents"]:
        got = by_agent[str(expected["agent_id"])]
        statement = expected["statement"]
        assert (got["agent_code"], got["month"], got["approved"]) == (expected["agent_code"], OCTOBER, "no")
        assert got["threshold_met"] == ("yes" if statement["threshold_met"] else "no")
        for name in ("new_nik_count", "acquisition_idr", "collection_idr", "clawback_idr", "carried_in_idr"):
            assert got[name] == str(statement[name]), name
        for name in ("total_idr", "payable_idr", "carried_out_idr", "pending_idr"):
            assert got[name] == str(statement[name]), name
    assert by_agent[str(october["agent"].agent_id)]["acquisition_idr"] == "375000"
    indonesian = client.get(  # the CSV is worded in the page's language, Bahasa Indonesia
        f"/api/v1/branches/{october['pkp']}/incentives/2026-10",
        headers={**october["finance"].headers, "Accept-Language": "id"},
    ).get_json()
    assert {k: (r["base_idr"], r["share_idr"], r["explanation"]) for k, r in by_wadah.items()} == {
        str(w["wadah_id"]): (str(w["base_idr"]), str(w["share_idr"]), w["explanation"]) for w in indonesian["wadahs"]
    }
    assert all(w["explanation"].startswith("10% dari Rp") for w in indonesian["wadahs"])


def test_one_agents_statement_lists_every_line_with_its_explanation_and_pending_apart(client, october):
    login(client)
    url = f"/keuangan/insentif/{october['agent'].agent_id}?month=2026-10"
    api = client.get(
        f"/api/v1/branches/{october['pkp']}/incentives/2026-10/agents/{october['agent'].agent_id}",
        headers=october["finance"].headers,
    ).get_json()

    page = client.get(url).get_data(as_text=True)
    lines, pending = table(page, "lines"), table(page, "pending-lines")
    collection = re.findall(r'<tr class="line kind-collection">(.*?)</tr>', lines, re.S)

    assert len(re.findall(r'<tr class="line kind-acquisition">', lines)) == 25
    assert len(collection) == 2 and len(re.findall(r'<tr class="line', pending)) == 1
    assert "15% (bulan ke-1)" in collection[0] and "layak dibayar 28 Okt 2026" in collection[0]
    assert rp(round(october["amounts"][0] * 0.15)) in collection[0] + collection[1]
    assert "NIK baru, satu dari 25 bulan ini (minimal 25)" in lines
    assert "ditagih 30 Okt 2026; mendapat insentif setelah uangnya disetor" in pending
    assert re.search(r"PKP-\w+", collection[0])  # the payment is shown by its receipt number
    assert re.search(r'id="sum-payable">' + re.escape(rp(api["payable_idr"])) + "<", page)
    assert re.search(r'id="sum-pending">' + re.escape(rp(api["pending_idr"])) + "<", page)


def test_one_agents_statement_csv_is_every_line_in_the_rules_columns(client, october):
    login(client)
    api = client.get(  # in the page's language, as the CSV is worded
        f"/api/v1/branches/{october['pkp']}/incentives/2026-10/agents/{october['agent'].agent_id}",
        headers={**october["finance"].headers, "Accept-Language": "id"},
    ).get_json()

    response = client.get(f"/keuangan/insentif/{october['agent'].agent_id}?month=2026-10&format=csv")
    rows = parse_csv(response)

    def blank(value: Any) -> str:
        return "" if value is None else str(value)

    expected = [tuple(blank(line[c]) for c in CSV_COLUMNS) for line in api["lines"] + api["pending_lines"]]
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="incentive-{agent_code(october)}-2026-10.csv"'
    )
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [tuple(r[c] for c in CSV_COLUMNS) for r in rows] == expected
    assert [r["kind"] for r in rows].count("pending") == 1
    assert sum(int(r["amount_idr"]) for r in rows if r["kind"] != "pending") == api["total_idr"]


def test_another_branchs_agent_has_no_statement_here(client, october):
    login(client)

    response = client.get(f"/keuangan/insentif/{october['ptk_agent'].agent_id}?month=2026-10")

    assert response.status_code == 404
    assert f"Agen {october['ptk_agent'].agent_id} tidak punya pernyataan 2026-10" in response.get_data(as_text=True)


def test_finance_approves_the_month_from_the_page_and_it_is_final(client, october):
    login(client)
    page = client.get("/keuangan/insentif?month=2026-10").get_data(as_text=True)

    response = client.post("/keuangan/insentif/setujui", data={"csrf_token": token(page), "month": OCTOBER})
    after = client.get(response.headers["Location"]).get_data(as_text=True)

    assert response.status_code == 303 and response.headers["Location"] == "/keuangan/insentif?month=2026-10"
    assert "Insentif 2026-10 disetujui: final." in after
    status = re.search(r'<p class="locked" id="incentive-status" data-status="approved">(.*?)</p>', after).group(1)
    assert "Test branch_finance" in status and "22 Nov 2026 09.00 WIB" in status
    assert 'id="approve-month-form"' not in after
    assert statements_stored(client.application) == 4  # two agents and two Wadahs
    assert month_of(client, october, OCTOBER)["approved"] is True


def test_a_supervisor_sees_no_approval_form_and_his_post_is_refused_with_the_services_message(client, october):
    supervisor = logged_in(client.application, "supervisor.pkp")
    page = supervisor.get("/keuangan/insentif?month=2026-10").get_data(as_text=True)

    response = supervisor.post("/keuangan/insentif/setujui", data={"csrf_token": token(page), "month": OCTOBER})

    assert 'id="approve-month-form"' not in page and "Hanya keuangan cabang atau admin" in page
    assert response.status_code == 403
    refusal = re.search(r'id="approve-error">(.*?)</div>', response.get_data(as_text=True), re.S).group(1)
    assert "Hanya keuangan cabang yang menyetujui laporan insentif." in refusal
    assert statements_stored(client.application) == 0


def test_months_are_approved_in_order_and_only_once_ended(client, october):
    login(client)

    def approve(month: str) -> Any:
        return client.post(
            "/keuangan/insentif/setujui",
            data={"csrf_token": form_token(client, "/keuangan/insentif"), "month": month},
        )

    first = approve("2026-08")
    skipping = approve("2026-10")
    unfinished = approve("2026-11")
    without_token = client.post("/keuangan/insentif/setujui", data={"month": "2026-09"})

    assert first.status_code == 303
    assert skipping.status_code == 409
    page = skipping.get_data(as_text=True)
    assert "Setujui Sep 2026 dulu: bulan disetujui berurutan" in page and 'data-status="draft"' in page
    assert unfinished.status_code == 409 and "Nov 2026 belum berakhir" in unfinished.get_data(as_text=True)
    assert without_token.status_code == 400
    assert statements_stored(client.application) == 4  # August only


def test_the_incentives_page_speaks_english(client, october):
    login(client)

    page = client.get("/keuangan/insentif?month=2026-10&lang=en").get_data(as_text=True)

    assert "Agents' and Wadahs' incentives" in page and "Payable" in page and "Approve 2026-10" in page
    assert "Dibayar" not in page


# --- coverage by regency ------------------------------------------------------------------------------


def coverage_of(app: Any, branch_id: int, year: int) -> list[Any]:
    with app.app_context():
        return coverage_by_regency(db.session, db.session.get(Branch, branch_id), year)


def targets_stored(app: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(RegencyTarget)) or 0)


def post_targets(client: Any, text: str = "", year: str = "2026", file: str | None = None) -> Any:
    data: dict[str, Any] = {"csrf_token": form_token(client, "/keuangan/cakupan"), "year": year, "targets": text}
    if file is not None:
        data["file"] = (io.BytesIO(file.encode()), "target.csv")
    return client.post("/keuangan/cakupan/target", data=data, content_type="multipart/form-data")


def test_targets_entered_in_the_form_show_up_with_coverage_and_a_chart(client, world, enrol):
    for serial in range(1, 4):
        enrol(nik=nik_for(serial=serial))
    login(client)

    saved = post_targets(client, "regency_code,target_population,source\n1971,120,BPS Sakernas 2025\n1903,50.000,\n")
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    city, basel = row(page, "data-regency", "1971"), row(page, "data-regency", "1903")

    assert saved.status_code == 303 and saved.headers["Location"] == "/keuangan/cakupan?year=2026"
    assert "2 target 2026 tersimpan." in page
    assert "Kota Pangkal Pinang" in city and cells(city) == ["3", "120", "2,5%"] and "BPS Sakernas 2025" in city
    assert cells(basel) == ["0", "50000", "0%"]
    assert bars(page) == 2 and "<title>Kota Pangkal Pinang: 2,5%</title>" in page
    assert targets_stored(client.application) == 2


def test_a_bad_target_row_is_named_and_nothing_is_saved(client, world):
    login(client)
    typed = "1971,120,BPS\n\n9999,abc,\n1971,5,\n"

    response = post_targets(client, typed)
    page = response.get_data(as_text=True)
    errors = re.search(r'<ul class="row-errors">(.*?)</ul>', page, re.S).group(1)

    assert response.status_code == 422
    assert "Perbaiki baris target; tidak ada yang disimpan." in page
    assert "Baris 3, regency_code: &#39;9999&#39; bukan kode kabupaten/kota yang dikenal" in errors
    assert "Baris 3, target_population: Jumlah pekerja informal yang akan dicakup: bilangan bulat dari 1" in errors
    assert "Baris 4, regency_code: 1971 diisi dua kali" in errors
    assert "Baris 1" not in errors
    assert "9999,abc," in page  # what was typed is kept in the textarea
    assert targets_stored(client.application) == 0


def test_targets_from_an_uploaded_csv_replace_the_years_targets(client, world):
    login(client)
    assert post_targets(client, "1971,100,lama").status_code == 303

    replaced = post_targets(client, file="regency_code,target_population,source\n1971,400,BPS 2026\n")
    empty = post_targets(client, "  \n")

    rows = {r.regency_code: r for r in coverage_of(client.application, world["pkp"], 2026)}
    assert replaced.status_code == 303
    assert (rows["1971"].target_population, rows["1971"].source) == (400, "BPS 2026")
    assert empty.status_code == 422 and "paling sedikit satu baris" in empty.get_data(as_text=True)


def test_the_coverage_csv_matches_the_report(client, world, enrol):
    enrol(nik=nik_for(serial=1))
    login(client)
    post_targets(client, "1971,40,BPS")

    response = client.get("/keuangan/cakupan?year=2026&format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == 'attachment; filename="coverage-PKP-2026.csv"'
    assert [
        (r["regency_code"], r["regency_name"], r["active_members"], r["target_population"], r["coverage_percent"])
        for r in rows
    ] == [
        (c.regency_code, c.regency_name, str(c.active_members), str(c.target_population), str(c.coverage_percent))
        for c in coverage_of(client.application, world["pkp"], 2026)
    ]
    assert rows[0]["coverage_percent"] == "2.5" and rows[0]["year"] == "2026"
    assert parse_csv(client.get("/keuangan/cakupan?year=2025&format=csv"))[0]["target_population"] == ""


# --- collections by channel, the scorecard ------------------------------------------------------------


@pytest.fixture
def cash(pinned_app, client, world, make_staff, enrol):
    """Agent A took cash from two members on 21 November (due at the bank on Monday) and agent B enrolled one
    and took his cash on 28 October."""
    world["agent_b"] = make_staff("agent", world["pkp"], "agent.b")
    november = [
        pay(client, world["agent"], enrol(nik=nik_for(serial=n))["id"], months=3, paid_on=date(2026, 11, 21))[
            "amount_idr"
        ]
        for n in (1, 2)
    ]
    at(pinned_app, OCTOBER_28)
    member_b = enrol(as_="agent_b", nik=nik_for(serial=3))["id"]
    october = pay_now(client, world["agent_b"], member_b)["amount_idr"]
    at(pinned_app, NOW)
    world["november"], world["october"] = november, october
    return world


def test_collections_by_channel_show_twelve_months_stacked_by_channel(client, cash):
    login(client)
    november = sum(cash["november"])

    page = client.get("/keuangan/saluran").get_data(as_text=True)
    months = re.findall(r'<tr data-month="([0-9-]+)"', page)

    assert months[0] == "2025-12" and months[-1] == "2026-11" and len(months) == 12
    assert bars(page) == 12 * 6 and 'class="legend"' in page
    assert cells(row(page, "data-month", "2026-11")) == [rp(november), *["Rp0"] * 5, rp(november), "2"]
    assert cells(row(page, "data-month", "2026-10"))[0] == rp(cash["october"])
    assert f"<title>2026-11 · Tunai: {november:,}</title>".replace(",", ".") in page


def test_the_channels_csv_matches_the_report(client, cash):
    login(client)
    with client.application.app_context():
        expected = collections_by_channel(
            db.session, db.session.get(Branch, cash["pkp"]), Month(2026, 9), Month(2026, 11)
        )

    response = client.get("/keuangan/saluran?from=2026-09&to=2026-11&format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == (
        'attachment; filename="collections-by-channel-PKP-2026-09-2026-11.csv"'
    )
    assert [(r["month"], r["cash_idr"], r["sponsor_idr"], r["total_idr"], r["payments"]) for r in rows] == [
        (str(m.month), str(m.cash_idr), str(m.sponsor_idr), str(m.total_idr), str(m.payments)) for m in expected
    ]
    assert rows[1]["cash_idr"] == str(cash["october"]) and rows[2]["payments"] == "2"


def test_the_scorecard_shows_this_month_per_agent_with_a_chart(client, cash):
    login(client)
    november = sum(cash["november"])

    page = client.get("/keuangan/kinerja").get_data(as_text=True)
    a = row(page, "data-agent", f"A-{cash['agent'].id}")
    b = row(page, "data-agent", f"A-{cash['agent_b'].id}")

    assert "Kinerja agen · 2026-11" in page
    # enrolled, collected, payments, delay (none deposited), undeposited, approved, returned, variance, lapsed
    assert cells(a) == ["2", rp(november), "2", "–", rp(november), "0", "0", "Rp0", "0"]
    assert cells(b)[:3] == ["0", "Rp0", "0"]  # his member and cash were in October
    assert bars(page) == 2 * 2
    two_months = client.get("/keuangan/kinerja?from=2026-10&to=2026-11").get_data(as_text=True)
    assert cells(row(two_months, "data-agent", f"A-{cash['agent_b'].id}"))[:3] == ["1", rp(cash["october"]), "1"]


def test_the_scorecard_csv_matches_the_report(client, cash):
    login(client)
    with client.application.app_context():
        branch = db.session.get(Branch, cash["pkp"])
        expected = agent_scorecard(db.session, branch, date(2026, 10, 1), date(2026, 11, 30))

    response = client.get("/keuangan/kinerja?from=2026-10&to=2026-11&format=csv")
    rows = parse_csv(response)

    assert response.headers["Content-Disposition"] == 'attachment; filename="agent-scorecard-PKP-2026-10-2026-11.csv"'
    assert list(rows[0]) == list(SCORECARD_HEADER)
    assert [
        (r["agent_code"], r["members_enrolled"], r["collected_idr"], r["payments"], r["undeposited_idr"]) for r in rows
    ] == [
        (e.agent_code, str(e.members_enrolled), str(e.collected_idr), str(e.payments), str(e.undeposited_idr))
        for e in expected
    ]
    assert rows[0]["collected_idr"] == str(sum(cash["november"]))


# --- sponsor retention --------------------------------------------------------------------------------


@pytest.fixture
def sponsored(pinned_app, client, world):
    """A four-member programme sponsored January to March 2026; two members paid April themselves."""
    from tests.collection.sponsors.test_sponsors import RATE, basel_csv, post, programme, sponsor, upload
    from tests.collection.sponsors.test_sponsors import at as at_day

    at_day(pinned_app, 2025, 12, 20)
    sponsor_id = sponsor(client, world["finance"], "regency", "Pemkab Bangka Selatan", "1903")
    programme_id = programme(client, world, sponsor_id, "BASEL-TEST-2026", "2026-01", 3, 4 * 3 * RATE)
    assert upload(client, world["finance"], programme_id, basel_csv(4)).status_code == 201
    at_day(pinned_app, 2026, 1, 5)
    paid = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, str(uuid.uuid4()))
    assert paid.status_code == 201, paid.get_json()
    with pinned_app.app_context():
        assert end_finished_programmes(db.session, at_day(pinned_app, 2026, 4, 2)) == [programme_id]
    at_day(pinned_app, 2026, 4, 10)
    listed = client.get(
        f"/api/v1/sponsor-programmes/{programme_id}/members?page_size=10", headers=world["finance"].headers
    ).get_json()
    for member in listed[:2]:
        body = {"member_id": member["member_id"], "months": 1}
        done = post(client, world["agent"], "/contributions", body, str(uuid.uuid4()))
        assert done.status_code == 201 and done.get_json()["months_covered"] == ["2026-04"], done.get_json()
    at(pinned_app, NOW)
    world["programme"] = programme_id
    return world


def test_sponsor_retention_per_programme_with_a_grouped_chart_and_csv(client, sponsored):
    login(client)

    page = client.get("/keuangan/retensi").get_data(as_text=True)
    programme = row(page, "data-programme", "BASEL-TEST-2026")
    response = client.get("/keuangan/retensi?format=csv")
    rows = parse_csv(response)

    assert "Pemkab Bangka Selatan" in programme and "2026-03" in programme
    points = dict(re.findall(r'data-after="(\d+)">(.*?)</td>', programme, re.S))
    assert points["1"].startswith("50%") and "2/4" in points["1"]
    assert points["3"].startswith("0%") and points["6"].startswith("0%")
    assert "belum diukur" in points["12"] and "2027-03" in points["12"]
    assert bars(page) == 4  # one programme, a bar per point
    assert response.headers["Content-Disposition"] == 'attachment; filename="sponsor-retention-PKP-2026-11-22.csv"'
    assert [(r["months_after"], r["month"], r["measured"], r["paying"], r["share_percent"]) for r in rows] == [
        ("1", "2026-04", "yes", "2", "50.0"),
        ("3", "2026-06", "yes", "0", "0.0"),
        ("6", "2026-09", "yes", "0", "0.0"),
        ("12", "2027-03", "no", "", ""),
    ]
    assert {r["members"] for r in rows} == {"4"}


# --- bad query parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/keuangan/insentif?month=2026-13", "TTTT-BB"),
        ("/keuangan/insentif?month=oktober", "TTTT-BB"),
        ("/keuangan/insentif/1?month=2026-1", "TTTT-BB"),
        ("/keuangan/saluran?from=2026-11&to=2026-01", "tukar keduanya"),
        ("/keuangan/saluran?from=2020-01&to=2026-01", "Paling banyak 36 bulan"),
        ("/keuangan/saluran?to=9999-01", "TTTT-BB"),
        ("/keuangan/kinerja?from=2026-11-01", "TTTT-BB"),
        ("/keuangan/kinerja?from=2026-11&to=2026-10", "tukar keduanya"),
        ("/keuangan/cakupan?year=20x6", "Tahun tidak valid"),
        ("/keuangan/cakupan?year=1999", "Tahun tidak valid"),
        ("/keuangan/retensi?on=kemarin", "TTTT-BB-HH"),
    ],
)
def test_a_bad_query_parameter_is_a_400_page_not_a_500(client, world, path, says):
    login(client)

    response = client.get(path)

    assert response.status_code == 400
    assert says in response.get_data(as_text=True)


def test_a_bad_month_or_year_in_a_form_is_a_400(client, world):
    login(client)

    month = client.post(
        "/keuangan/insentif/setujui", data={"csrf_token": form_token(client, "/keuangan/insentif"), "month": "okt"}
    )
    year = post_targets(client, "1971,10,x", year="dua ribu")

    assert month.status_code == 400 and "TTTT-BB" in month.get_data(as_text=True)
    assert year.status_code == 400 and "Tahun tidak valid" in year.get_data(as_text=True)
    assert statements_stored(client.application) == 0 and targets_stored(client.application) == 0


def test_the_new_pages_are_in_the_navigation(client, world):
    login(client)

    page = client.get("/keuangan/kinerja").get_data(as_text=True)

    for path in ("/keuangan/insentif", "/keuangan/cakupan", "/keuangan/saluran", "/keuangan/kinerja"):
        assert f'href="{path}"' in page
    assert 'href="/keuangan/kinerja" aria-current="page"' in page
    assert "<script" not in page
