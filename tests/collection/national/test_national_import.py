"""Members from the national system (issue 12, part 3): loaded with their KPJs, their paid months booked as imported
history that no receipt, cash, batch, incentive or report counts, their standing by everyone's rule, re-imports that
change nothing, the agents' CSV, and who may do it."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from collection.members.kpj import kpj_for
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.position import member_position
from collection.national.models import NationalMember
from core.extensions import db
from core.months import Month
from payments.ledger.models import Payment, Receipt
from tests.factories import NOW, nik_for

HEADER = "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through"


def line(serial: int, paid_through: str, started: str = "01-01-2026", kpj: str | None = None, **kw: str) -> str:
    born = date(1980, 1 + serial % 12, 1 + serial % 28)
    nik = kw.get("nik") or nik_for(born=born, serial=serial)
    return (
        f"{kpj or f'2319{serial:07d}'},{nik},peserta nasional {serial},{born:%d-%m-%Y},0812{serial:08d},"
        f"{kw.get('job', 'petani')},{kw.get('package', 'JKK+JKM')},1000000,{started},{paid_through}"
    )


def export(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def upload(client: Any, staff: Any, branch_id: int, text: str, key: str | None = None, name: str = "n.csv") -> Any:
    headers = dict(staff.headers) | {"Idempotency-Key": key or str(uuid.uuid4())}
    data = {"file": (io.BytesIO(text.encode()), name)}
    return client.post(
        f"/api/v1/branches/{branch_id}/national-imports", data=data, headers=headers, content_type="multipart/form-data"
    )


def imported(client: Any, world: dict[str, Any], text: str) -> dict[str, Any]:
    response = upload(client, world["supervisor"], world["pkp"], text)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def rows_of(client: Any, staff: Any, import_id: int, outcome: str | None = None) -> list[dict[str, Any]]:
    query = f"?outcome={outcome}" if outcome else ""
    response = client.get(f"/api/v1/national-imports/{import_id}{query}", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["rows"])


def member(app: Any, kpj: str) -> Member:
    with app.app_context():
        found = db.session.scalar(select(Member).where(Member.kpj == kpj))
        assert found is not None
        db.session.expunge_all()
        return found


def count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_members_are_loaded_with_their_kpj_history_and_standing(client, world, pinned_app):
    """On 22 November 2026 (November's due date passed): paid through November is active, through October in
    arrears, through June lapsed (July to October unpaid: more than 3 months)."""
    report = imported(
        client,
        world,
        export(line(1, "2026-11"), line(2, "2026-10"), line(3, "2026-06", started="01-01-2025"), line(4, "")),
    )

    assert (report["created"], report["rejected"], report["existing"]) == (4, 0, 0)
    active, arrears, lapsed, unpaid = (member(pinned_app, f"2319{n:07d}") for n in range(1, 5))
    assert (active.status, active.paid_through, active.agent_id) == ("active", Month(2026, 11), None)
    assert (arrears.status, arrears.paid_through) == ("in_arrears", Month(2026, 10))
    assert (lapsed.status, lapsed.paid_through) == ("lapsed", Month(2026, 6))
    assert (unpaid.status, unpaid.paid_through) == ("lapsed", None)  # nothing paid since January
    assert active.enrolled_by_agent_id is None and active.district_code == nik_for(born=date(1980, 2, 2))[:6]
    with pinned_app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.member_id == active.id))
        assert payment is not None
        # January to March 2026 at Rp16.800, April to November at Rp8.400 (PP 50/2025's discount for 'other')
        assert (payment.channel, payment.amount_idr, payment.agent_id) == ("imported", 3 * 16_800 + 8 * 8_400, None)
        months = db.session.scalars(select(PaymentAllocation.month).where(PaymentAllocation.payment_id == payment.id))
        assert sorted(months) == list(Month(2026, 1).until(Month(2026, 11)))
        assert db.session.scalar(select(Receipt).where(Receipt.payment_id == payment.id)) is None
        assert db.session.scalar(select(Payment).where(Payment.member_id == unpaid.id)) is None
        period = db.session.scalar(select(MembershipPeriod).where(MembershipPeriod.member_id == lapsed.id))
        assert period is not None and period.ended_on is not None
        # The same rule as anyone's: the member's position, read from his allocations, agrees with each.
        for one in (active, arrears, lapsed, unpaid):
            fresh = db.session.get(Member, one.id)
            assert fresh is not None
            standing = member_position(db.session, fresh, NOW.date()).standing
            assert (standing.status, standing.paid_through) == (fresh.status, fresh.paid_through)
        changes = db.session.scalars(
            select(MemberStatusChange.to_status).where(MemberStatusChange.member_id == arrears.id)
        )
        assert list(changes) == ["active", "in_arrears"]


def test_indonesian_headers_are_read(client, world, pinned_app):
    header = "No_KPJ;NIK;Nama;Tanggal_Lahir;Telepon;Pekerjaan;Program;Upah;Kelas;Mulai;Iuran_Terakhir"
    nik = nik_for(born=date(1990, 1, 12), serial=9)
    row = f"23190000009;{nik};Budi;12-01-1990;081299990009;ojek online;JKK+JKM+JHT;3000000;10;01-01-2026;11/2026"
    text = f"{header}\n{row}\n"

    report = imported(client, world, text)

    assert report["created"] == 1, report
    loaded = member(pinned_app, "23190000009")
    assert (loaded.package, loaded.bracket, loaded.sector, loaded.status) == ("JKK+JKM+JHT", 10, "transport", "active")


def test_bad_rows_are_reported_with_their_line_and_good_rows_import(client, world, pinned_app):
    text = export(line(1, "2026-11"), line(2, "2026-11", kpj="123"), line(3, "2026-11", package="JHT"))
    report = imported(client, world, text)

    assert (report["created"], report["rejected"]) == (1, 2)
    bad = rows_of(client, world["supervisor"], report["id"], "rejected")
    assert [(r["row"], r["field"]) for r in bad] == [(3, "kpj"), (4, "package")]


def test_a_kpj_in_iurans_block_or_held_by_another_member_is_refused(client, world, pinned_app, enrol):
    ours = enrol()["kpj"]
    first = imported(client, world, export(line(1, "2026-11")))
    assert first["created"] == 1
    text = export(line(2, "2026-11", kpj=ours), line(3, "2026-11", kpj="23190000001"))

    report = imported(client, world, text)

    assert (report["created"], report["rejected"]) == (0, 2)
    reasons = {r["row"]: r["reason"] for r in rows_of(client, world["supervisor"], report["id"], "rejected")}
    assert "iuran's own numbering" in reasons[2] and ours == kpj_for(1)
    assert "is another member's" in reasons[3]


def test_the_same_file_or_the_same_members_again_change_nothing(client, world, pinned_app, enrol):
    text = export(line(1, "2026-11"), line(2, "2026-10"))
    first = imported(client, world, text)
    before = (count(pinned_app, Member), count(pinned_app, Payment), count(pinned_app, PaymentAllocation))

    again = upload(client, world["supervisor"], world["pkp"], text)
    enrolled = enrol(nik=nik_for(born=date(1980, 4, 4), serial=3))  # a member of iuran already
    overlapping = imported(client, world, export(line(1, "2026-11"), line(3, "2026-11", nik=enrolled["nik"])))

    assert again.status_code == 200 and again.get_json()["already_imported"] and again.get_json()["id"] == first["id"]
    assert (overlapping["created"], overlapping["unchanged"], overlapping["existing"]) == (0, 1, 1)
    existing = rows_of(client, world["supervisor"], overlapping["id"], "existing")[0]
    assert existing["member_id"] == enrolled["id"] and "already member" in existing["reason"]
    assert (count(pinned_app, Member) - 1, count(pinned_app, Payment), count(pinned_app, PaymentAllocation)) == before


def test_an_idempotency_key_sent_again_with_another_file_is_a_409(client, world, pinned_app):
    key = str(uuid.uuid4())
    assert upload(client, world["supervisor"], world["pkp"], export(line(1, "2026-11")), key).status_code == 201
    same = upload(client, world["supervisor"], world["pkp"], export(line(1, "2026-11")), key)
    other = upload(client, world["supervisor"], world["pkp"], export(line(2, "2026-11")), key)

    assert (same.status_code, other.status_code) == (200, 409)


def assign(client: Any, staff: Any, branch_id: int, text: str) -> Any:
    data = {"file": (io.BytesIO(text.encode()), "agen.csv")}
    return client.post(
        f"/api/v1/branches/{branch_id}/member-agents",
        data=data,
        headers=staff.headers,
        content_type="multipart/form-data",
    )


def test_the_agents_csv_sets_the_serving_agent_only(client, world, pinned_app):
    imported(client, world, export(line(1, "2026-11"), line(2, "2026-11")))
    code = f"A-{world['agent'].id}"
    text = f"no_kpj,kode_agen\n23190000001,{code}\n23190000002,A-999999\n99999999999,{code}\n23190000001,{code}\n"

    response = assign(client, world["supervisor"], world["pkp"], text)
    again = assign(client, world["supervisor"], world["pkp"], "kpj,agent_code\n23190000001," + code + "\n")

    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["assigned"], body["rejected"]) == (1, 3)
    assert [(r["row"], r["field"]) for r in body["rows"] if r["outcome"] == "rejected"] == [
        (3, "agent_code"),
        (4, "kpj"),
        (5, "kpj"),
    ]
    assert (again.get_json()["assigned"], again.get_json()["unchanged"]) == (0, 1)
    served = member(pinned_app, "23190000001")
    assert (served.agent_id, served.enrolled_by_agent_id) == (world["agent"].agent_id, None)


def test_imported_history_counts_in_no_receipt_cash_batch_incentive_or_report(client, world, pinned_app):
    imported(client, world, export(line(1, "2026-11", started="01-01-2025"), line(2, "2026-10")))
    code = f"A-{world['agent'].id}"
    assert assign(client, world["supervisor"], world["pkp"], f"kpj,agent_code\n23190000001,{code}\n").status_code == 200
    agent, finance, pkp = world["agent"], world["finance"], world["pkp"]

    def get(staff: Any, path: str) -> Any:
        response = client.get(f"/api/v1{path}", headers=staff.headers)
        assert response.status_code == 200, (path, response.get_json())
        return response.get_json()

    cash = get(agent, "/agents/me/cash")
    days = get(finance, f"/branches/{pkp}/reports/collections?from=2026-11-01&to=2026-11-30")
    months = get(finance, f"/branches/{pkp}/reports/collections-by-channel?from=2026-01&to=2026-12")
    scorecard = get(finance, f"/branches/{pkp}/reports/agent-scorecard?from=2026-01&to=2026-11")
    incentive = get(agent, "/agents/me/incentives/2026-11")
    closed = client.post(f"/api/v1/branches/{pkp}/batches/close", json={"date": "2026-11-22"}, headers=finance.headers)
    batches = get(finance, f"/branches/{pkp}/batches?date=2026-11-22")

    assert count(pinned_app, Payment, Payment.channel == "imported") == 2
    assert count(pinned_app, Receipt) == 0
    assert cash["on_hand_idr"] == 0 and cash.get("collected_today_idr", 0) == 0
    assert sum(d["payments"] for d in days) == 0 and sum(d["total_idr"] for d in days) == 0
    assert sum(m["payments"] for m in months) == 0
    assert all(row["collected_idr"] == 0 and row["payments"] == 0 for row in scorecard)
    assert incentive["collection_idr"] == 0 and incentive["total_idr"] == 0
    assert closed.status_code in (200, 201) and batches == []


def test_an_imported_payment_cannot_be_reversed(client, world, pinned_app):
    imported(client, world, export(line(1, "2026-11")))
    with pinned_app.app_context():
        payment_id = db.session.scalar(select(Payment.id).where(Payment.channel == "imported"))

    response = client.post(
        f"/api/v1/contributions/{payment_id}/reversal", json={"reason": "salah"}, headers=world["supervisor"].headers
    )

    assert response.status_code == 409, response.get_json()
    assert "national system" in response.get_json()["message"]
    assert count(pinned_app, PaymentAllocation, PaymentAllocation.reversed) == 0


@pytest.mark.parametrize("who", ["agent", "finance", "ptk_supervisor"])
def test_only_the_branchs_supervisor_or_an_admin_loads_members(client, world, pinned_app, make_staff, who):
    world["ptk_supervisor"] = make_staff("supervisor", world["ptk"], "supervisor.ptk")
    response = upload(client, world[who], world["pkp"], export(line(1, "2026-11")))

    assert response.status_code == (404 if who == "ptk_supervisor" else 403), response.get_json()
    assert count(pinned_app, Member) == 0
    assert upload(client, world["admin"], world["pkp"], export(line(1, "2026-11"))).status_code == 201


def test_a_large_file_is_imported_by_a_worker(client, world, pinned_app, rq_burst):
    pinned_app.config["NATIONAL_IMPORT_INLINE_ROWS"] = 2
    queued = upload(client, world["supervisor"], world["pkp"], export(*(line(n, "2026-11") for n in range(1, 6))))
    assert queued.status_code == 202, queued.get_json()
    assert (queued.get_json()["status"], queued.get_json()["rows_total"]) == ("running", 5)

    rq_burst("low")

    done = client.get(f"/api/v1/national-imports/{queued.get_json()['id']}", headers=world["supervisor"].headers)
    assert (done.get_json()["status"], done.get_json()["created"]) == ("done", 5)
    assert count(pinned_app, NationalMember) == 5


def test_the_cli_imports_a_file_and_its_agents(pinned_app, world, tmp_path):
    members_csv = tmp_path / "nasional.csv"
    members_csv.write_text(export(line(1, "2026-11"), line(2, "2026-11", kpj="1")))
    agents_csv = tmp_path / "agen.csv"
    agents_csv.write_text(f"kpj,agent_code\n23190000001,A-{world['agent'].id}\n")
    runner = pinned_app.test_cli_runner()

    result = runner.invoke(args=["import-members", str(members_csv), "--branch", "pkp", "--agents", str(agents_csv)])
    again = runner.invoke(args=["import-members", str(members_csv), "--branch", "PKP"])

    assert result.exit_code == 0, result.output
    assert "1 created" in result.output and "row 3" in result.output and "1 assigned" in result.output
    assert "nothing changed" in again.output
    assert member(pinned_app, "23190000001").agent_id == world["agent"].agent_id


def multipart(staff: Any, text: str, key: str) -> dict[str, Any]:
    """A file field encoded here: the test client would spool a body over 500 KB to a temporary file it never
    closes (a ResourceWarning, an error under pytest)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(text.encode()), "big.csv")})
    headers = dict(staff.headers) | {"Idempotency-Key": key}
    return {"data": body, "headers": headers, "content_type": f"multipart/form-data; boundary={boundary}"}


def test_files_over_a_megabyte_are_taken_not_refused_as_too_large(client, world, pinned_app):
    """The export of 100,000 members is about 13 MB: both uploads get the upload limit, not the 1 MB of a form."""
    members = export(*(line(n, "2026-11") for n in range(1, 9001)))
    agents = "kpj,agent_code\n" + "".join(f"2319{n:07d},A-{world['agent'].id}\n" for n in range(1, 75001))
    assert min(len(members.encode()), len(agents.encode())) > 1024 * 1024
    supervisor, branch_id = world["supervisor"], world["pkp"]

    body = multipart(supervisor, members, "members-01")
    queued = client.post(f"/api/v1/branches/{branch_id}/national-imports", **body)
    assigned = client.post(f"/api/v1/branches/{branch_id}/member-agents", **multipart(supervisor, agents, "agents-1"))

    assert queued.status_code == 202, queued.get_json()
    assert assigned.status_code == 200, assigned.get_json()


def test_a_rows_reason_is_shown_in_the_readers_language(client, world, pinned_app, enrol):
    """Reasons are stored in English (for every reader) and worded for the reader: a nested figure too."""
    first = imported(client, world, export(line(1, "2026-11")))
    enrolled = enrol(nik=nik_for(born=date(1980, 4, 4), serial=3))
    text = export(
        line(2, "2026-11", package="JHT"),
        line(3, "2026-11", nik=enrolled["nik"]),
        line(4, "2026-11", kpj="23190000001"),
        line(5, "2026-11", started="01-01-2030"),
    )
    report = imported(client, world, text)
    assert first["created"] == 1 and report["created"] == 0

    def reasons(lang: str) -> dict[int, str]:
        headers = world["supervisor"].headers | {"Accept-Language": lang}
        response = client.get(f"/api/v1/national-imports/{report['id']}", headers=headers)
        return {r["row"]: r["reason"] for r in response.get_json()["rows"] if r.get("reason")}

    english, indonesian = reasons("en"), reasons("id")
    assert english[2] == "'JHT' is not a BPU package: write JKK+JKM or JKK+JKM+JHT."
    assert indonesian[2] == "'JHT' bukan paket BPU: tulis JKK+JKM atau JKK+JKM+JHT."
    assert english[3].endswith(
        f"of this branch in iuran: not added again. The export gives KPJ {kpj_line(3)}: check which is right."
    )
    assert indonesian[3].startswith(
        f"NIK ini sudah menjadi peserta {enrolled['kpj']} (id {enrolled['id']}) di cabang ini"
    )
    assert indonesian[4].startswith("KPJ 23190000001 milik peserta lain")
    assert indonesian[5] == "Awal kepesertaan 01-01-2030 ada di masa depan."


def kpj_line(serial: int) -> str:
    return f"2319{serial:07d}"


def test_an_inactive_agent_in_the_agents_csv_is_named_by_the_rosters_word(client, world, pinned_app):
    imported(client, world, export(line(1, "2026-11")))
    agent_id, code = world["agent"].agent_id, f"A-{world['agent'].id}"
    body = {"reason": "tidak bertransaksi tiga bulan"}
    assert (
        client.post(f"/api/v1/agents/{agent_id}/deactivate", json=body, headers=world["supervisor"].headers).status_code
        == 200
    )
    data = {"file": (io.BytesIO(f"kpj,agent_code\n23190000001,{code}\n".encode()), "agen.csv")}
    headers = world["supervisor"].headers | {"Accept-Language": "id"}

    response = client.post(
        f"/api/v1/branches/{world['pkp']}/member-agents", data=data, headers=headers, content_type="multipart/form-data"
    )

    (row,) = response.get_json()["rows"]
    assert row["reason"] == f"Agen {code} berstatus Nonaktif: pilih agen yang aktif."
