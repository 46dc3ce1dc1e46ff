"""The first admin from the command line, the admin commands, the /admin pages and the forced password change on
every web app."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from core.audit import AuditEvent
from core.extensions import db
from organisation.models import Branch, Role, StaffUser
from tests.factories import PASSWORD


def csrf(client: Any, path: str) -> str:
    page = client.get(path)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert match, page.data[:500]
    return match.group(1).decode()


def web_login(client: Any, app_path: str, username: str, password: str = PASSWORD) -> Any:
    data = {"csrf_token": csrf(client, f"{app_path}/masuk"), "username": username, "password": password}
    return client.post(f"{app_path}/masuk", data=data)


# --- the command line ------------------------------------------------------------------------------------------


def test_admin_create_makes_the_first_admin_from_a_password_on_stdin_and_then_refuses(app):
    runner = app.test_cli_runner()
    args = ["admin", "create", "--username", "Kepala", "--full-name", "Kepala Cabang", "--phone", "081234567890"]

    first = runner.invoke(args=args, input="rahasia sekali\n")
    again = runner.invoke(args=[*args[:3], "kepala2", *args[4:]], input="rahasia sekali\n")

    assert first.exit_code == 0, first.output
    assert "rahasia" not in first.output
    assert again.exit_code != 0 and "admin exists already" in again.output
    with app.app_context():
        admins = list(db.session.scalars(select(StaffUser).where(StaffUser.role == Role.ADMIN)))
        assert [(a.username, a.phone, a.must_change_password) for a in admins] == [("kepala", "+6281234567890", False)]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.created"))
        assert event.details["via"] == "cli" and event.actor_user_id is None
    client = app.test_client()
    assert (
        client.post("/api/v1/auth/token", json={"username": "kepala", "password": "rahasia sekali"}).status_code == 201
    )


def test_admin_create_refuses_a_short_password_and_no_password(app):
    runner = app.test_cli_runner()
    args = ["admin", "create", "--username", "kepala", "--full-name", "Kepala"]

    short = runner.invoke(args=args, input="pendek\n")
    empty = runner.invoke(args=args, input="")

    assert short.exit_code != 0 and "at least 10" in short.output
    assert empty.exit_code != 0 and "stdin" in empty.output


def test_the_commands_for_scripts_create_a_branch_and_staff_reset_and_disable(app, client):
    runner = app.test_cli_runner()
    branch = runner.invoke(
        args=["admin", "branch-create", "--code", "amb", "--name", "KC Ambon", "--province", "81", "--regency", "8171"]
    )
    staff = runner.invoke(
        args=["admin", "staff-create", "--username", "kasir.amb", "--full-name", "Kasir", "--role", "branch_finance",
              "--branch", "AMB"]
    )  # fmt: skip
    bad = runner.invoke(
        args=["admin", "branch-create", "--code", "X1", "--name", "X", "--province", "81", "--regency", "1971"]
    )

    assert branch.exit_code == 0 and "Asia/Jayapura" in branch.output, branch.output
    assert staff.exit_code == 0, staff.output
    assert bad.exit_code != 0 and "regency_code" in bad.output
    temporary = staff.output.rsplit(": ", 1)[1].strip()
    refused = client.post("/api/v1/auth/token", json={"username": "kasir.amb", "password": temporary})
    assert refused.get_json()["reason"] == "password_change_required"
    reset = runner.invoke(args=["admin", "reset-password", "kasir.amb"])
    assert reset.exit_code == 0 and temporary not in reset.output
    disabled = runner.invoke(args=["admin", "disable", "kasir.amb"])
    assert disabled.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(Branch.timezone).where(Branch.code == "AMB")) == "Asia/Jayapura"
        assert db.session.scalar(select(StaffUser.is_active).where(StaffUser.username == "kasir.amb")) is False


# --- the pages ---------------------------------------------------------------------------------------------------


def test_an_admin_opens_a_branch_and_creates_staff_on_the_pages(app, client, world):
    assert web_login(client, "/admin", "admin").status_code == 303
    token = csrf(client, "/admin/cabang")

    created = client.post(
        "/admin/cabang",
        data={"csrf_token": token, "code": "dps", "name": "KC Denpasar", "province_code": "51", "regency_code": "5171",
              "cash_limit_idr": "3.000.000"},
    )  # fmt: skip
    bad = client.post(
        "/admin/cabang",
        data={"csrf_token": token, "code": "dps2", "name": "X", "province_code": "51", "regency_code": "1971"},
    )
    no_csrf = client.post("/admin/cabang", data={"code": "ZZ", "name": "Z", "province_code": "51"})
    person = client.post(
        "/admin/staf",
        data={"csrf_token": token, "username": "kasir.dps", "full_name": "Kasir Dps", "role": "branch_finance",
              "branch_id": str(world["pkp"])},
    )  # fmt: skip

    assert created.status_code == 303
    assert bad.status_code == 422 and "5171" not in bad.get_data(as_text=True)
    assert "regency_code" in bad.get_data(as_text=True)
    assert no_csrf.status_code == 400
    assert person.status_code == 201 and person.headers["Cache-Control"] == "no-store"
    with app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.code == "DPS"))
        assert (branch.timezone, branch.cash_limit_idr) == ("Asia/Makassar", 3_000_000)


def test_a_supervisor_sees_no_branch_pages_and_finance_no_admin_pages(client, world):
    web_login(client, "/admin", "supervisor.pkp")
    assert client.get("/admin/staf").status_code == 200
    assert client.get("/admin/cabang").status_code == 403
    finance = client.application.test_client()
    assert web_login(finance, "/admin", "finance.pkp").status_code == 403


def test_a_reset_on_the_page_ends_the_old_cookie_and_forces_a_change_on_the_next_login(app, client, world):
    finance = app.test_client()
    web_login(finance, "/keuangan", "finance.pkp")
    assert finance.get("/keuangan/batch").status_code == 200
    web_login(client, "/admin", "supervisor.pkp")

    shown = client.post(f"/admin/staf/{world['finance'].id}/reset", data={"csrf_token": csrf(client, "/admin/staf")})

    assert shown.status_code == 200
    temporary = re.search(r'class="password">([^<]+)<', shown.get_data(as_text=True)).group(1)
    old_cookie = finance.get("/keuangan/batch")
    assert old_cookie.status_code == 302 and "/keuangan/masuk" in old_cookie.headers["Location"]
    fresh = app.test_client()
    logged_in = web_login(fresh, "/keuangan", "finance.pkp", temporary)
    assert logged_in.status_code == 303
    sent_on = fresh.get("/keuangan/batch")
    assert sent_on.status_code == 303 and "/akun/kata-sandi" in sent_on.headers["Location"]
    token = csrf(fresh, "/akun/kata-sandi?next=/keuangan/batch")
    mismatch = fresh.post(
        "/akun/kata-sandi?next=/keuangan/batch",
        data={"csrf_token": token, "current_password": temporary, "new_password": "teh manis sore",
              "repeat_password": "teh manis pagi"},
    )  # fmt: skip
    assert mismatch.status_code == 422
    changed = fresh.post(
        "/akun/kata-sandi?next=/keuangan/batch",
        data={"csrf_token": token, "current_password": temporary, "new_password": "teh manis sore",
              "repeat_password": "teh manis sore"},
    )  # fmt: skip
    assert changed.status_code == 303 and changed.headers["Location"].endswith("/keuangan/batch")
    assert fresh.get("/keuangan/batch").status_code == 200


def test_an_agent_whose_password_was_reset_is_sent_to_the_password_page_first(app, client, world):
    runner = app.test_cli_runner()
    reset = runner.invoke(args=["admin", "reset-password", "agent.pkp"])
    temporary = reset.output.rsplit(": ", 1)[1].strip()

    web_login(client, "/agen", "agent.pkp", temporary)
    home = client.get("/agen/")

    assert home.status_code == 303 and "/akun/kata-sandi" in home.headers["Location"]


def test_disabling_on_the_page_ends_the_users_cookie(app, client, world):
    agent = app.test_client()
    web_login(agent, "/agen", "agent.pkp")
    assert agent.get("/agen/").status_code == 200
    web_login(client, "/admin", "supervisor.pkp")

    done = client.post(f"/admin/staf/{world['agent'].id}/nonaktifkan", data={"csrf_token": csrf(client, "/admin/staf")})

    assert done.status_code == 303
    assert agent.get("/agen/").status_code == 302
