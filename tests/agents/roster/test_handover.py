"""Handing an agent's members and open visits to another agent: exactly his, in one audited transaction, and a
second run moves nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from collection.members.models import Member, VisitItem
from core.audit import AuditEvent
from core.extensions import db
from tests.factories import NOW, nik_for


@pytest.fixture
def members(pinned_app, world, enrol, new_agent) -> dict[str, Any]:
    """Agents X (leaving), Y and Z; X serves 3 members (two in Gerunggang), Z serves 1; X has two open visits
    and a resolved one, Z an open one."""
    x, y, z = new_agent(areas=[]), new_agent(areas=["Gerunggang"]), new_agent(areas=[])
    ids = [enrol(nik=nik_for(serial=800 + n), name=f"anggota {n}")["id"] for n in range(4)]
    villages = ["Gerunggang", "gerunggang ", "Semabung", "Gerunggang"]
    serving = [x["id"], x["id"], x["id"], z["id"]]
    with pinned_app.app_context():
        for member_id, village, agent_id in zip(ids, villages, serving, strict=True):
            member = db.session.get(Member, member_id)
            member.village, member.agent_id = village, agent_id
        visits = [
            VisitItem(
                member_id=ids[0], branch_id=world["pkp"], agent_id=x["id"], reason="debit_failed", source_id=1, note="a"
            ),
            VisitItem(
                member_id=ids[2], branch_id=world["pkp"], agent_id=x["id"], reason="arrears", source_id=2, note="b"
            ),
            VisitItem(
                member_id=ids[1],
                branch_id=world["pkp"],
                agent_id=x["id"],
                reason="debit_failed",
                source_id=3,
                note="c",
                resolved_at=NOW,
            ),
            VisitItem(
                member_id=ids[3], branch_id=world["pkp"], agent_id=z["id"], reason="debit_failed", source_id=4, note="d"
            ),
        ]
        db.session.add_all(visits)
        db.session.commit()
        visit_ids = [v.id for v in visits]
    return {"x": x, "y": y, "z": z, "members": ids, "visits": visit_ids}


def _agents_of(app, ids):
    with app.app_context():
        rows = db.session.execute(
            select(Member.id, Member.agent_id, Member.enrolled_by_agent_id).where(Member.id.in_(ids))
        )
        return {member_id: (agent_id, enrolled_by) for member_id, agent_id, enrolled_by in rows}


def _visit_agents(app, ids):
    with app.app_context():
        return dict(db.session.execute(select(VisitItem.id, VisitItem.agent_id).where(VisitItem.id.in_(ids))).all())


def test_a_hand_over_moves_exactly_his_members_and_open_visits_and_again_nothing(pinned_app, client, world, members):
    x, y, z = members["x"], members["y"], members["z"]
    before = _agents_of(pinned_app, members["members"])
    client.post(
        f"/api/v1/agents/{x['id']}/deactivate", json={"reason": "pindah kota"}, headers=world["supervisor"].headers
    )

    response = client.post(
        f"/api/v1/agents/{x['id']}/hand-over", json={"to_agent_id": y["id"]}, headers=world["supervisor"].headers
    )

    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["members_moved"], report["visits_moved"]) == (3, 2)
    assert report["moved"] == [
        {
            "agent_id": y["id"],
            "agent_code": y["code"],
            "members": 3,
            "visits": 2,
            "members_by_status": {"active": 3},
            "visits_by_reason": {"arrears": 1, "debit_failed": 1},
        }
    ]
    after = _agents_of(pinned_app, members["members"])
    assert [after[m][0] for m in members["members"]] == [y["id"], y["id"], y["id"], z["id"]]
    assert [after[m][1] for m in members["members"]] == [before[m][1] for m in members["members"]]  # who enrolled stays
    visit_agents = _visit_agents(pinned_app, members["visits"])
    assert [visit_agents[v] for v in members["visits"]] == [y["id"], y["id"], x["id"], z["id"]]  # resolved one stays

    again = client.post(
        f"/api/v1/agents/{x['id']}/hand-over", json={"to_agent_id": y["id"]}, headers=world["supervisor"].headers
    )
    assert again.status_code == 200
    assert (again.get_json()["members_moved"], again.get_json()["visits_moved"]) == (0, 0)
    assert _agents_of(pinned_app, members["members"]) == after
    with pinned_app.app_context():
        events = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "agent.hand_over").order_by(AuditEvent.id))
        )
        assert len(events) == 2 and events[0].actor_user_id == world["supervisor"].id
        assert sorted(events[0].details["before"]["member_ids"]) == sorted(members["members"][:3])
        assert sorted(events[0].details["after"][str(y["id"])]["visit_ids"]) == members["visits"][:2]


def test_by_village_his_members_in_the_receivers_areas_go_to_him_and_the_rest_to_the_default(
    pinned_app, client, world, members
):
    x, y, z = members["x"], members["y"], members["z"]
    body = {"to_agent_id": y["id"], "by_village": True, "default_agent_id": z["id"]}

    response = client.post(f"/api/v1/agents/{x['id']}/hand-over", json=body, headers=world["supervisor"].headers)

    assert response.status_code == 200, response.get_json()
    moved = {m["agent_id"]: (m["members"], m["visits"]) for m in response.get_json()["moved"]}
    assert moved == {y["id"]: (2, 1), z["id"]: (1, 1)}
    after = _agents_of(pinned_app, members["members"])
    assert [after[m][0] for m in members["members"]] == [y["id"], y["id"], z["id"], z["id"]]
    visit_agents = _visit_agents(pinned_app, members["visits"])
    assert [visit_agents[v] for v in members["visits"]] == [
        y["id"],
        z["id"],
        x["id"],
        z["id"],
    ]  # a visit follows its member


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"to_agent_id": "x"}, 422, "to_agent_id"),
        ({"to_agent_id": "self"}, 422, "to_agent_id"),
        ({"to_agent_id": "ptk"}, 422, "to_agent_id"),
        ({"to_agent_id": 99_999}, 422, "to_agent_id"),
        ({"to_agent_id": "inactive"}, 409, "to_agent_id"),
        ({"to_agent_id": "y", "by_village": True}, 422, "default_agent_id"),
        ({"to_agent_id": "y", "default_agent_id": "z"}, 422, "default_agent_id"),
        ({"to_agent_id": "z", "by_village": True, "default_agent_id": "y"}, 422, "to_agent_id"),  # z has no areas
    ],
)
def test_a_hand_over_to_nobody_valid_is_refused_and_moves_nothing(
    pinned_app, client, world, members, new_agent, body, status, field
):
    inactive = new_agent()
    client.post(
        f"/api/v1/agents/{inactive['id']}/terminate", json={"reason": "penipuan"}, headers=world["supervisor"].headers
    )
    names = {"self": members["x"]["id"], "ptk": world["ptk_agent"].agent_id, "inactive": inactive["id"]}
    names |= {k: members[k]["id"] for k in ("x", "y", "z")}
    body = {k: names.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = _agents_of(pinned_app, members["members"])

    response = client.post(
        f"/api/v1/agents/{members['x']['id']}/hand-over", json=body, headers=world["supervisor"].headers
    )

    assert response.status_code == status, response.get_json()
    assert field in str(response.get_json().get("errors"))
    assert _agents_of(pinned_app, members["members"]) == before


def test_only_the_branchs_supervisor_or_an_admin_hands_over(client, world, members, make_staff):
    url = f"/api/v1/agents/{members['x']['id']}/hand-over"
    body = {"to_agent_id": members["y"]["id"]}
    assert client.post(url, json=body, headers=world["agent"].headers).status_code == 403
    assert client.post(url, json=body, headers=world["finance"].headers).status_code == 403
    assert client.post(url, json=body, headers=make_staff("supervisor", world["ptk"]).headers).status_code == 404
    assert client.post(url, json=body, headers=world["admin"].headers).status_code == 200
