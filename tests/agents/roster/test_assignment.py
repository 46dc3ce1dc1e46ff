"""Members without a serving agent given to agents by area (issue 12 part 3): by village (any case), else by district;
members two agents cover, or none, left and reported; members who have an agent untouched; again, nothing moves."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from collection.members.models import Member
from core.audit import AuditEvent
from core.extensions import db

HEADER = "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through,desa"
BORN = date(1985, 6, 7)


def national_line(serial: int, district: str, village: str) -> str:
    nik = f"{district}{BORN.day:02d}{BORN:%m%y}{serial:04d}"
    return (
        f"2319{serial:07d},{nik},peserta {serial},{BORN:%d-%m-%Y},0812{serial:08d},petani,JKK+JKM,1000000,"
        f"01-01-2026,2026-11,{village}"
    )


def load(client: Any, staff: Any, branch_id: int, *lines: str) -> None:
    headers = dict(staff.headers) | {"Idempotency-Key": str(uuid.uuid4())}
    data = {"file": (io.BytesIO(("\n".join([HEADER, *lines]) + "\n").encode()), "nasional.csv")}
    response = client.post(
        f"/api/v1/branches/{branch_id}/national-imports", data=data, headers=headers, content_type="multipart/form-data"
    )
    assert response.status_code == 201 and response.get_json()["rejected"] == 0, response.get_json()


def agents_by_kpj(app: Any) -> dict[str, int | None]:
    with app.app_context():
        return dict(db.session.execute(select(Member.kpj, Member.agent_id)).all())


def kpj(serial: int) -> str:
    return f"2319{serial:07d}"


@pytest.fixture
def branch(pinned_app, client, world, new_agent) -> dict[str, Any]:
    """Pangkalpinang's agents with areas (E deactivated) and eight members loaded from the national export, all
    without an agent but member 8, whom the agents' CSV gave to the branch's first agent."""
    a = new_agent(areas=["Gerunggang"])
    b = new_agent(areas=["197102", "197105"])
    c = new_agent(areas=["Semabung", "197103"])
    d = new_agent(areas=["semabung"])
    e = new_agent(areas=["Bacang"])
    f = new_agent(areas=["197105"])
    deactivated = client.post(
        f"/api/v1/agents/{e['id']}/deactivate", json={"reason": "pindah"}, headers=world["supervisor"].headers
    )
    assert deactivated.status_code == 200, deactivated.get_json()
    load(
        client,
        world["supervisor"],
        world["pkp"],
        national_line(1, "197101", "GERUNGGANG"),  # A by village, whatever the case
        national_line(2, "197102", "Bukit Merapin"),  # B by district (nobody has Bukit Merapin)
        national_line(3, "197102", "Semabung"),  # C and D both have Semabung: left (not B by district)
        national_line(4, "197103", ""),  # C by district
        national_line(5, "197104", "Bacang"),  # only E, who is deactivated, has Bacang: left
        national_line(6, "197105", ""),  # B and F both have 197105: left
        national_line(7, "197101", " gerunggang  "),  # A by village, spaces and all
        national_line(8, "197101", "Gerunggang"),  # has an agent already: untouched
    )
    assign = client.post(
        f"/api/v1/branches/{world['pkp']}/member-agents",
        data={"file": (io.BytesIO(f"kpj,agent_code\n{kpj(8)},A-{world['agent'].id}\n".encode()), "a.csv")},
        headers=world["supervisor"].headers,
        content_type="multipart/form-data",
    )
    assert assign.get_json()["assigned"] == 1, assign.get_json()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def test_members_go_to_the_one_agent_of_their_village_or_else_district_and_the_rest_are_left_with_why(
    pinned_app, client, world, branch
):
    a, b, c, d, f = (branch[k] for k in "abcdf")

    url = f"/api/v1/branches/{world['pkp']}/member-agents/by-area"
    response = client.post(url, headers=world["supervisor"].headers)

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["without_agent"], report["assigned"], report["left"]) == (7, 4, 3)
    assert report["assigned_by_agent"] == {a["code"]: 2, b["code"]: 1, c["code"]: 1}
    assert report["left_by_reason"] == {"ambiguous_district": 1, "ambiguous_village": 1, "no_area": 1}
    left = {m["kpj"]: (m["reason"], m["agent_codes"]) for m in report["left_members"]}
    assert left == {
        kpj(3): ("ambiguous_village", [c["code"], d["code"]]),  # by agent id
        kpj(5): ("no_area", []),
        kpj(6): ("ambiguous_district", [b["code"], f["code"]]),
    }
    assert agents_by_kpj(pinned_app) == {
        kpj(1): a["id"],
        kpj(2): b["id"],
        kpj(3): None,
        kpj(4): c["id"],
        kpj(5): None,
        kpj(6): None,
        kpj(7): a["id"],
        kpj(8): world["agent"].agent_id,
    }
    with pinned_app.app_context():
        enrolled_by = set(db.session.scalars(select(Member.enrolled_by_agent_id)))
        village = db.session.scalar(select(Member.village).where(Member.kpj == kpj(7)))
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "members.agents_assigned_by_area"))
    assert enrolled_by == {None}  # who enrolled a member never changes
    assert village == "gerunggang"  # the export's village as given, its spaces tidied
    assert event.actor_user_id == world["supervisor"].id and event.entity_id == str(world["pkp"])
    ids = _ids(pinned_app)
    assert sorted(event.details["changes"], key=lambda change: change["member_id"]) == [
        {"member_id": ids[kpj(n)], "before": None, "after": agent["id"]}
        for n, agent in ((1, a), (2, b), (4, c), (7, a))
    ]


def _ids(app: Any) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(Member.kpj, Member.id)).all())


def test_again_nothing_more_moves_and_nothing_more_is_audited(pinned_app, client, world, branch):
    url = f"/api/v1/branches/{world['pkp']}/member-agents/by-area"
    first = client.post(url, headers=world["supervisor"].headers)
    before = agents_by_kpj(pinned_app)

    again = client.post(url, headers=world["admin"].headers)

    assert first.get_json()["assigned"] == 4
    assert again.status_code == 200
    assert (again.get_json()["without_agent"], again.get_json()["assigned"], again.get_json()["left"]) == (3, 0, 3)
    assert agents_by_kpj(pinned_app) == before
    with pinned_app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "members.agents_assigned_by_area"))
        assert len(list(events)) == 1


def test_a_member_of_another_branch_is_not_given_to_this_branchs_agents(pinned_app, client, world, branch):
    load(client, world["admin"], world["ptk"], national_line(21, "197101", "Gerunggang"))

    client.post(f"/api/v1/branches/{world['pkp']}/member-agents/by-area", headers=world["supervisor"].headers)

    assert agents_by_kpj(pinned_app)[kpj(21)] is None


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("agent", 403), ("finance", 403), ("ptk_supervisor", 404), ("admin", 200)],
)
def test_only_the_branchs_supervisor_or_an_admin_assigns_by_area(
    pinned_app, client, world, branch, make_staff, who, status
):
    if who == "anonymous":
        headers = {}
    elif who == "ptk_supervisor":
        headers = make_staff("supervisor", world["ptk"], "supervisor.ptk").headers
    else:
        headers = world[who].headers
    before = agents_by_kpj(pinned_app)

    response = client.post(f"/api/v1/branches/{world['pkp']}/member-agents/by-area", headers=headers)

    assert response.status_code == status, response.get_json()
    if status != 200:
        assert agents_by_kpj(pinned_app) == before


def test_an_unknown_branch_is_a_404_and_moves_nothing(pinned_app, client, world, branch):
    before = agents_by_kpj(pinned_app)

    response = client.post("/api/v1/branches/999999/member-agents/by-area", headers=world["admin"].headers)

    assert response.status_code == 404
    assert set(response.get_json()) >= {"code", "status", "message"}
    assert agents_by_kpj(pinned_app) == before


def test_the_cli_assigns_by_area_alone_or_after_an_import(pinned_app, world, branch, tmp_path):
    runner = pinned_app.test_cli_runner()
    export = tmp_path / "nasional.csv"
    export.write_text("\n".join([HEADER, national_line(31, "197101", "Gerunggang")]) + "\n")

    unknown = runner.invoke(args=["agent", "assign-by-area", "--branch", "XXX"])
    imported = runner.invoke(args=["import-members", str(export), "--branch", "pkp", "--assign-by-area"])
    again = runner.invoke(args=["agent", "assign-by-area", "--branch", "pkp"])

    assert unknown.exit_code != 0 and "no branch" in unknown.output
    assert imported.exit_code == 0, imported.output
    assert "1 created" in imported.output
    assert "by area: 8 members without an agent: 5 assigned, 3 left" in imported.output
    assert f"to {branch['a']['code']}: 3" in imported.output and "ambiguous_village" in imported.output
    assert again.exit_code == 0 and "by area: 3 members without an agent: 0 assigned, 3 left" in again.output
    assert agents_by_kpj(pinned_app)[kpj(31)] == branch["a"]["id"]
