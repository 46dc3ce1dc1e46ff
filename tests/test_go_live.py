"""Issue 12 end to end, from an empty database, through the API as a branch would go live: the first admin, a
branch, a Wadah, a supervisor, finance and two agents; the branch's existing members from the national system; an
agent collects; the day closes; the remittance file holds exactly that cash and its totals; an agent deactivated,
his members handed over, and his old cookie, old token and new logins refused."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from collection.members.models import Member
from core.extensions import db
from payments.remittance.rules import check_file
from payments.remittance.services import make_file
from tests.factories import NOW, nik_for

ADMIN_PASSWORD = "kantor cabang pangkalpinang"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _token(client: Any, username: str, password: str) -> dict[str, str]:
    return _bearer(
        _ok(client.post("/api/v1/auth/token", json={"username": username, "password": password}), 201)["access_token"]
    )


def _own_password(client: Any, username: str, given: str) -> dict[str, str]:
    """A new account's first login: the password someone else chose is changed, then a token."""
    refused = client.post("/api/v1/auth/token", json={"username": username, "password": given})
    assert refused.status_code == 403 and refused.get_json()["reason"] == "password_change_required"
    mine = f"{username} punya sandi sendiri"
    _ok(client.post("/api/v1/auth/password", json={"username": username, "password": given, "new_password": mine}))
    return _token(client, username, mine)


def _web_login(app: Any, username: str, password: str) -> Any:
    web = app.test_client()
    page = web.get("/agen/masuk").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    web.post("/agen/masuk", data={"csrf_token": csrf, "username": username, "password": password})
    return web


def test_a_branch_goes_live_from_an_empty_database(app, client):
    clock = {"now": NOW}
    app.config["CLOCK"] = lambda: clock["now"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 0

    # 1. the first admin, from the command line, the password on stdin
    created = app.test_cli_runner().invoke(
        args=["admin", "create", "--username", "admin.kc", "--full-name", "Admin Kantor"], input=ADMIN_PASSWORD + "\n"
    )
    assert created.exit_code == 0, created.output
    admin = _token(client, "admin.kc", ADMIN_PASSWORD)

    # 2. the branch, its Wadah, its supervisor and finance
    branch = _ok(
        client.post(
            "/api/v1/branches",
            json={"code": "pkp", "name": "KC Pangkalpinang", "province_code": "19", "regency_code": "1971"},
            headers=admin,
        ),
        201,
    )
    assert (branch["code"], branch["timezone"]) == ("PKP", "Asia/Jakarta")  # the zone from the province
    wadah = _ok(
        client.post("/api/v1/wadahs", json={"branch_id": branch["id"], "name": "Wadah Timah"}, headers=admin), 201
    )
    staff = {}
    for username, role in (("sari.supervisor", "supervisor"), ("budi.keuangan", "branch_finance")):
        body = {"username": username, "full_name": username.title(), "role": role, "branch_id": branch["id"]}
        made = _ok(client.post("/api/v1/staff", json=body, headers=admin), 201)
        staff[role] = _own_password(client, username, made["temporary_password"])
    supervisor, finance = staff["supervisor"], staff["branch_finance"]

    # 3. two agents, enrolled by the supervisor
    agents = []
    for serial in (1, 2):
        body = {
            "nik": nik_for(born=date(1988, 4, serial), serial=900 + serial),
            "name": f"perisai {serial}",
            "phone": f"0813-5555-000{serial}",
            "wadah_id": wadah["id"],
            "areas": ["Gerunggang"],
        }
        made = _ok(client.post(f"/api/v1/branches/{branch['id']}/agents", json=body, headers=supervisor | _key()), 201)
        agents.append((made, _own_password(client, made["username"], made["initial_password"])))
    (first, first_token), (second, _) = agents

    # 4. the branch's existing members, kept KPJs and months paid as imported history, served by the first agent
    kpjs = ("23190000101", "23190000102")
    export = (
        "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through\n"
        + "".join(
            f"{kpj},{nik_for(born=date(1980, 1, n), serial=100 + n)},peserta {n},{n:02d}-01-1980,08130000010{n},"
            f"petani,JKK+JKM,1000000,01-01-2025,2026-10\n"
            for n, kpj in enumerate(kpjs, 1)
        )
    )
    imported = _ok(
        client.post(
            f"/api/v1/branches/{branch['id']}/national-imports",
            data={"file": (io.BytesIO(export.encode()), "bpu-pkp.csv")},
            headers=supervisor | _key(),
            content_type="multipart/form-data",
        ),
        201,
    )
    assert (imported["created"], imported["rejected"]) == (2, 0), imported
    assignment = "kpj,agent_code\n" + "".join(f"{kpj},{first['code']}\n" for kpj in kpjs)
    _ok(
        client.post(
            f"/api/v1/branches/{branch['id']}/member-agents",
            data={"file": (io.BytesIO(assignment.encode()), "agen.csv")},
            headers=supervisor,
            content_type="multipart/form-data",
        )
    )
    with app.app_context():
        members = {m.kpj: m.id for m in db.session.scalars(select(Member).where(Member.kpj.in_(kpjs)))}
        assert set(db.session.scalars(select(Member.agent_id).where(Member.kpj.in_(kpjs)))) == {first["id"]}

    # 5. the first agent collects November for the first member, in cash
    paid = _ok(
        client.post(
            "/api/v1/contributions", json={"member_id": members[kpjs[0]], "months": 1}, headers=first_token | _key()
        ),
        201,
    )
    assert paid["months_covered"] == ["2026-11"]

    # 6. the day closes; the remittance file carries exactly that month, and not the imported history
    _ok(
        client.post(
            f"/api/v1/branches/{branch['id']}/batches/close", json={"date": NOW.date().isoformat()}, headers=finance
        )
    )
    with app.app_context():
        made_file = make_file(db.session, branch["id"], NOW + timedelta(days=1, hours=1))
        assert made_file is not None
        file_id = made_file.id
    download = client.get(f"/api/v1/remittance-files/{file_id}/csv", headers=finance)
    assert download.status_code == 200
    text = download.get_data(as_text=True)
    lines = text.strip().split("\n")
    assert lines[0] == "kpj,month,channel,receipt_number,paid_on,amount_idr,type"
    assert lines[1:-1] == [
        f"{kpjs[0]},2026-11,cash,{paid['number']},{NOW.date().isoformat()},{paid['amount_idr']},payment"
    ]
    trailer = lines[-1].split(",")
    assert trailer[0] == "TRAILER" and trailer[4:6] == ["1", str(paid["amount_idr"])]
    check_file(download.get_data())  # the checksum and the control totals agree with the body

    # 7. the first agent leaves: deactivated, his members to the second agent, refused everywhere at once
    web = _web_login(app, first["username"], f"{first['username']} punya sandi sendiri")
    assert web.get("/agen/").status_code == 200
    _ok(client.post(f"/api/v1/agents/{first['id']}/deactivate", json={"reason": "pindah kerja"}, headers=supervisor))
    moved = _ok(
        client.post(f"/api/v1/agents/{first['id']}/hand-over", json={"to_agent_id": second["id"]}, headers=supervisor)
    )
    assert moved["members_moved"] == 2, moved
    with app.app_context():
        assert set(db.session.scalars(select(Member.agent_id).where(Member.kpj.in_(kpjs)))) == {second["id"]}
    assert client.get("/api/v1/agents/me/cash", headers=first_token).status_code == 401  # his old token
    old_cookie = web.get("/agen/")
    assert old_cookie.status_code in (302, 303) and "/agen/masuk" in old_cookie.headers["Location"]
    again = client.post(
        "/api/v1/auth/token",
        json={"username": first["username"], "password": f"{first['username']} punya sandi sendiri"},
    )
    assert again.status_code == 401
