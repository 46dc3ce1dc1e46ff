"""The roster's CLI for scripting: create, deactivate, terminate, hand over, list."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from collection.members.models import Member
from core.extensions import db
from organisation.models import Agent
from tests.factories import PASSWORD, nik_for


def test_an_operator_scripts_the_roster(pinned_app, client, world, enrol, wadah_id):
    runner = pinned_app.test_cli_runner()
    created = runner.invoke(
        args=[
            "agent", "create", "--branch", "pkp", "--nik", nik_for(born=date(1991, 2, 3), serial=61),
            "--name", "dewi lestari", "--phone", "081355550061", "--wadah", "Wadah Test", "--code", "PKP-C1",
            "--area", "Gerunggang",
        ]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "agent PKP-C1" in created.output and "first password: " in created.output
    password = created.output.rsplit("first password: ", 1)[1].strip()
    first_login = client.post("/api/v1/auth/token", json={"username": "pkp-c1", "password": password})
    assert first_login.get_json()["reason"] == "password_change_required"  # the password is right, and his own next

    member = enrol()
    with pinned_app.app_context():
        old_code = db.session.scalar(select(Agent.code).where(Agent.id == world["agent"].agent_id))
    assert runner.invoke(args=["agent", "deactivate", old_code]).exit_code == 0
    handed = runner.invoke(args=["agent", "hand-over", old_code, "--to", "pkp-c1"])
    assert handed.exit_code == 0, handed.output
    assert "1 members and 0 open visits moved" in handed.output
    with pinned_app.app_context():
        new_id = db.session.scalar(select(Agent.id).where(Agent.code == "PKP-C1"))
        assert db.session.get(Member, member["id"]).agent_id == new_id
    assert "0 members" in runner.invoke(args=["agent", "hand-over", old_code, "--to", "PKP-C1"]).output

    terminated = runner.invoke(args=["agent", "terminate", "PKP-C1", "--reason", "penipuan"])
    assert terminated.exit_code == 0 and "terminated" in terminated.output
    assert client.post("/api/v1/auth/token", json={"username": "pkp-c1", "password": password}).status_code == 401
    listed = runner.invoke(args=["agent", "list", "--branch", "PKP"])
    assert "PKP-C1" in listed.output and "terminated" in listed.output and "deactivated" in listed.output
    assert PASSWORD not in listed.output


def test_the_cli_names_each_bad_field_and_changes_nothing(pinned_app, world, wadah_id):
    runner = pinned_app.test_cli_runner()
    bad = runner.invoke(
        args=["agent", "create", "--branch", "PKP", "--nik", "123", "--name", "x y", "--phone", "021555",
              "--wadah", "Nowhere"]
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "nik:" in bad.output and "phone:" in bad.output and "wadah_id:" in bad.output
    assert "already terminated" not in runner.invoke(args=["agent", "terminate", "NOPE", "--reason", "x"]).output
    assert runner.invoke(args=["agent", "deactivate", "NOPE"]).exit_code != 0
    again = runner.invoke(args=["agent", "reactivate", "NOPE", "--reason", "kembali"])
    assert again.exit_code != 0 and "no agent" in again.output
