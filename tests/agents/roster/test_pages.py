"""The roster's pages on the administration desk (/admin/agen): each renders for a branch head and an admin; every
action taken on a page is what the API then shows; the wrong callers, a form without its CSRF token and bad fields
are refused with nothing written."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from agents.roster.models import AgentArea, AgentProfile, AgentStatusChange, DeactivationProposal
from collection.members.models import Member, VisitItem
from core.clock import utcnow
from core.extensions import db
from organisation.models import Agent, StaffUser, Wadah
from tests.factories import NOW, PASSWORD, nik_for


def csrf(client: Any, path: str) -> str:
    page = client.get(path)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert match, page.data[:500]
    return match.group(1).decode()


def logged_in(app: Any, username: str) -> Any:
    """A browser logged in at /admin as ``username``."""
    browser = app.test_client()
    token = csrf(browser, "/admin/masuk")
    answer = browser.post("/admin/masuk", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    return browser


def api_agent(client: Any, world: dict[str, Any], agent_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/agents/{agent_id}", headers=world["supervisor"].headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def counts(app: Any) -> tuple[int, int, int]:
    """Agents, their areas and audit-worthy rows: what a refused form must leave as it was."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Agent)),
            db.session.scalar(select(func.count()).select_from(AgentArea)),
            db.session.scalar(select(func.count()).select_from(AgentProfile)),
        )


@pytest.fixture
def browsers(pinned_app: Any, world: dict[str, Any], make_staff: Any) -> dict[str, Any]:
    """A Pangkalpinang supervisor's browser and an admin's (and the Pontianak supervisor's account)."""
    world["ptk_supervisor"] = make_staff("supervisor", world["ptk"], "supervisor.ptk")
    return {"supervisor": logged_in(pinned_app, "supervisor.pkp"), "admin": logged_in(pinned_app, "admin")}


def enrol_form(token: str, wadah_id: int, serial: int = 701, **overrides: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "nik": nik_for(born=NOW.date().replace(year=1991), serial=serial),
        "name": "siti aminah",
        "phone": "0813-2222-0701",
        "wadah_id": str(wadah_id),
        "areas": "Gerunggang\n\n197102\n",
        "idempotency_key": f"page-form-{serial}",
    }
    return form | overrides


# --- each page renders --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_each_roster_page_renders_for_a_supervisor_and_an_admin(pinned_app, world, browsers, new_agent, who):
    agent = new_agent()
    with pinned_app.app_context():
        db.session.add(DeactivationProposal(agent_id=agent["id"], branch_id=world["pkp"], idle_since=NOW))
        db.session.commit()
    browser = browsers[who]
    branch = f"?cabang={world['pkp']}"

    listing = browser.get(f"/admin/agen{branch}")
    detail = browser.get(f"/admin/agen/{agent['id']}")
    proposals = browser.get(f"/admin/agen/usulan{branch}")

    for page in (listing, detail, proposals):
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        assert 'href="/admin/agen"' in page.get_data(as_text=True)  # the desk's menu links the roster
    text = listing.get_data(as_text=True)
    assert agent["code"] in text and world["agent"].username.upper() not in text
    assert "Gerunggang" in text and "Rp0" in text
    assert agent["nik"] in detail.get_data(as_text=True)
    assert f"/admin/agen/{agent['id']}/nonaktifkan" in detail.get_data(as_text=True)
    assert "/admin/agen/usulan/" in proposals.get_data(as_text=True) and agent["code"] in proposals.get_data(
        as_text=True
    )


def test_an_admin_is_asked_to_choose_a_branch_and_a_supervisor_always_sees_his_own(world, browsers, new_agent):
    agent = new_agent()

    unchosen = browsers["admin"].get("/admin/agen?lang=en")
    own = browsers["supervisor"].get(f"/admin/agen?cabang={world['ptk']}")  # his own whatever he asks

    assert unchosen.status_code == 200 and "Choose a branch" in unchosen.get_data(as_text=True)
    assert agent["code"] not in unchosen.get_data(as_text=True)
    assert own.status_code == 200 and agent["code"] in own.get_data(as_text=True)


# --- every action through the pages is what the API shows -----------------------------------------------------------


def test_enrolling_on_the_page_shows_the_first_password_once_and_the_api_lists_the_agent(
    pinned_app, client, world, browsers, wadah_id
):
    browser = browsers["supervisor"]
    form = enrol_form(csrf(browser, "/admin/agen"), wadah_id)

    shown = browser.post("/admin/agen", data=form)
    again = browser.post("/admin/agen", data=form)  # a second click on the same form: the same agent

    assert shown.status_code == 201 and shown.headers["Cache-Control"] == "no-store"
    first = re.search(r'class="password">([^<]+)<', shown.get_data(as_text=True)).group(1)
    assert again.status_code == 200 and again.headers["Cache-Control"] == "no-store"
    # the browser shows the second answer: while he has never logged in, it carries a new first password
    password = re.search(r'class="password">([^<]+)<', again.get_data(as_text=True)).group(1)
    assert password != first
    listed = client.get(f"/api/v1/branches/{world['pkp']}/agents", headers=world["supervisor"].headers).get_json()
    mine = [a for a in listed if a["nik"] == form["nik"]]
    assert len(mine) == 1
    assert (mine[0]["name"], mine[0]["phone"], mine[0]["wadah_id"]) == ("siti aminah", "+6281322220701", wadah_id)
    assert sorted((a["kind"], a["key"]) for a in mine[0]["areas"]) == [
        ("district", "197102"),
        ("village", "gerunggang"),
    ]
    token = client.post("/api/v1/auth/token", json={"username": mine[0]["username"], "password": password})
    assert token.get_json().get("reason") == "password_change_required"  # the password works, and must change


def test_editing_on_the_page_changes_the_phone_wadah_and_areas_the_api_shows(
    pinned_app, client, world, browsers, new_agent
):
    agent = new_agent()
    with pinned_app.app_context():
        other = Wadah(branch_id=world["pkp"], name="Wadah Kedua")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    browser = browsers["admin"]
    token = csrf(browser, f"/admin/agen/{agent['id']}")

    saved = browser.post(
        f"/admin/agen/{agent['id']}",
        data={"csrf_token": token, "phone": "0813-9999-0001", "wadah_id": str(other_id), "areas": "Semabung"},
    )

    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/admin/agen/{agent['id']}")
    shown = api_agent(client, world, agent["id"])
    assert (shown["phone"], shown["wadah_id"]) == ("+6281399990001", other_id)
    assert [a["label"] for a in shown["areas"]] == ["Semabung"]


def test_the_edit_form_as_filled_in_keeps_a_district_a_district(client, world, browsers, new_agent):
    agent = new_agent(areas=["Gerunggang", "197102"])
    browser = browsers["supervisor"]
    page = browser.get(f"/admin/agen/{agent['id']}").get_data(as_text=True)
    filled = re.search(r'<textarea name="areas"[^>]*>([^<]*)</textarea>', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    saved = browser.post(
        f"/admin/agen/{agent['id']}",
        data={"csrf_token": token, "phone": "0813-9999-0003", "wadah_id": str(agent["wadah_id"]), "areas": filled},
    )

    assert saved.status_code == 303
    shown = api_agent(client, world, agent["id"])
    assert shown["phone"] == "+6281399990003"
    assert sorted((a["kind"], a["key"]) for a in shown["areas"]) == sorted(
        (a["kind"], a["key"]) for a in agent["areas"]
    )


def test_deactivating_reactivating_and_terminating_on_the_page_is_the_status_the_api_shows(
    pinned_app, client, world, browsers, new_agent
):
    agent = new_agent()
    browser = browsers["supervisor"]
    token = csrf(browser, f"/admin/agen/{agent['id']}")
    url = f"/admin/agen/{agent['id']}"

    deactivated = browser.post(f"{url}/nonaktifkan", data={"csrf_token": token, "reason": "tiga bulan diam"})
    status_then = api_agent(client, world, agent["id"])["status"]
    too_early = browser.post(f"{url}/aktifkan", data={"csrf_token": token, "reason": "kembali bekerja"})
    status_after_refusal = api_agent(client, world, agent["id"])["status"]
    terminated = browser.post(f"{url}/berhentikan", data={"csrf_token": token, "reason": "penipuan setoran"})
    again = browser.post(f"{url}/berhentikan", data={"csrf_token": token, "reason": "penipuan setoran"})

    assert deactivated.status_code == 303 and status_then == "deactivated"
    assert too_early.status_code == 409 and "6 bulan" in too_early.get_data(as_text=True)
    assert status_after_refusal == "deactivated"
    assert terminated.status_code == 303 and api_agent(client, world, agent["id"])["status"] == "terminated"
    assert again.status_code == 409 and "agen yang diberhentikan tetap diberhentikan" in again.get_data(as_text=True)


def test_reactivating_on_the_page_after_six_months_makes_him_active_in_the_api(
    pinned_app, client, world, browsers, new_agent
):
    agent = new_agent()
    answer = client.post(
        f"/api/v1/agents/{agent['id']}/deactivate", json={"reason": "diam"}, headers=world["supervisor"].headers
    )
    assert answer.status_code == 200
    with pinned_app.app_context():  # his deactivation was seven months ago
        change = db.session.scalar(select(AgentStatusChange).where(AgentStatusChange.agent_id == agent["id"]))
        change.changed_at = NOW - timedelta(days=213)
        db.session.commit()
    browser = browsers["admin"]

    back = browser.post(
        f"/admin/agen/{agent['id']}/aktifkan",
        data={"csrf_token": csrf(browser, f"/admin/agen/{agent['id']}"), "reason": "kembali bekerja"},
    )

    assert back.status_code == 303 and api_agent(client, world, agent["id"])["status"] == "active"


@pytest.fixture
def served(pinned_app, world, enrol, new_agent) -> dict[str, Any]:
    """Agent X serves two members (one in Gerunggang, one in Semabung) and has an open visit; Y serves
    Gerunggang; Z takes the rest."""
    x, y, z = new_agent(areas=[]), new_agent(areas=["Gerunggang"]), new_agent(areas=[])
    ids = [enrol(nik=nik_for(serial=850 + n), name=f"anggota {n}")["id"] for n in range(2)]
    with pinned_app.app_context():
        for member_id, village in zip(ids, ["Gerunggang", "Semabung"], strict=True):
            member = db.session.get(Member, member_id)
            member.village, member.agent_id = village, x["id"]
        db.session.add(
            VisitItem(
                member_id=ids[1], branch_id=world["pkp"], agent_id=x["id"], reason="arrears", source_id=9, note="b"
            )
        )
        db.session.commit()
    return {"x": x, "y": y, "z": z, "members": ids}


def test_a_hand_over_by_village_on_the_page_shows_the_report_and_the_api_counts_follow(
    pinned_app, client, world, browsers, served
):
    x, y, z = served["x"], served["y"], served["z"]
    browser = browsers["supervisor"]
    token = csrf(browser, f"/admin/agen/{x['id']}")

    report = browser.post(
        f"/admin/agen/{x['id']}/serahkan",
        data={"csrf_token": token, "to_agent_id": str(y["id"]), "by_village": "1", "default_agent_id": str(z["id"])},
    )

    text = report.get_data(as_text=True)
    assert report.status_code == 200, text[:400]
    assert "2 anggota dan 1 kunjungan" in text and y["code"] in text and z["code"] in text
    assert "arrears: 1" in text
    served_by = {a: api_agent(client, world, served[a]["id"]) for a in ("x", "y", "z")}
    assert [(served_by[a]["members_served"], served_by[a]["open_visits"]) for a in "xyz"] == [(0, 0), (1, 0), (1, 1)]


def test_accepting_and_dismissing_a_proposal_on_the_page_is_what_the_api_shows(
    pinned_app, client, world, browsers, new_agent
):
    idle, kept = new_agent(), new_agent()
    with pinned_app.app_context():
        since = utcnow()  # after their creation, so that accepting deactivates
        rows = [DeactivationProposal(agent_id=a["id"], branch_id=world["pkp"], idle_since=since) for a in (idle, kept)]
        db.session.add_all(rows)
        db.session.commit()
        accept_id, dismiss_id = (p.id for p in rows)
    browser = browsers["admin"]
    token = csrf(browser, f"/admin/agen/usulan?cabang={world['pkp']}")

    accepted = browser.post(f"/admin/agen/usulan/{accept_id}/terima", data={"csrf_token": token, "note": "setuju"})
    dismissed = browser.post(f"/admin/agen/usulan/{dismiss_id}/tolak", data={"csrf_token": token})
    twice = browser.post(f"/admin/agen/usulan/{accept_id}/tolak", data={"csrf_token": token})

    assert accepted.status_code == 303 and f"cabang={world['pkp']}" in accepted.headers["Location"]
    assert dismissed.status_code == 303
    assert twice.status_code == 409 and "sudah diputuskan: Diterima" in twice.get_data(as_text=True)
    assert api_agent(client, world, idle["id"])["status"] == "deactivated"
    assert api_agent(client, world, kept["id"])["status"] == "active"
    listed = client.get(
        f"/api/v1/branches/{world['pkp']}/agent-proposals?status=all", headers=world["supervisor"].headers
    ).get_json()
    assert {(p["id"], p["status"], p["note"]) for p in listed} == {
        (accept_id, "accepted", "setuju"),
        (dismiss_id, "dismissed", None),
    }


# --- who is refused ---------------------------------------------------------------------------------------------------


def _pages(world: dict[str, Any], agent_id: int, proposal_id: int) -> list[tuple[str, str]]:
    url = f"/admin/agen/{agent_id}"
    return [
        ("GET", f"/admin/agen?cabang={world['pkp']}"),
        ("POST", "/admin/agen"),
        ("GET", url),
        ("POST", url),
        ("POST", f"{url}/nonaktifkan"),
        ("POST", f"{url}/berhentikan"),
        ("POST", f"{url}/aktifkan"),
        ("POST", f"{url}/serahkan"),
        ("GET", f"/admin/agen/usulan?cabang={world['pkp']}"),
        ("POST", f"/admin/agen/usulan/{proposal_id}/terima"),
        ("POST", f"/admin/agen/usulan/{proposal_id}/tolak"),
    ]


def test_an_agent_finance_and_anonymous_are_sent_to_the_login_and_nothing_changes(
    pinned_app, client, world, browsers, new_agent, wadah_id
):
    agent, receiver = new_agent(), new_agent()
    with pinned_app.app_context():
        proposal = DeactivationProposal(agent_id=agent["id"], branch_id=world["pkp"], idle_since=utcnow())
        db.session.add(proposal)
        db.session.commit()
        proposal_id = proposal.id
    before = counts(pinned_app)
    form = enrol_form("x", wadah_id) | {"reason": "penipuan", "to_agent_id": str(receiver["id"]), "phone": "081399"}
    for username in ("agent.pkp", "finance.pkp", None):
        browser = pinned_app.test_client()
        if username is not None:  # a live session of the other apps, as their logins make
            app_path = "/agen" if username.startswith("agent") else "/keuangan"
            token = csrf(browser, f"{app_path}/masuk")
            browser.post(f"{app_path}/masuk", data={"csrf_token": token, "username": username, "password": PASSWORD})
        with browser.session_transaction() as session:
            session.setdefault("csrf", "known")
            form["csrf_token"] = session["csrf"]
        for method, path in _pages(world, agent["id"], proposal_id):
            answer = browser.open(path, method=method, data=form if method == "POST" else None)
            assert answer.status_code == 302 and "/admin/masuk" in answer.headers["Location"], (username, path)

    assert counts(pinned_app) == before
    assert api_agent(client, world, agent["id"])["status"] == "active"
    with pinned_app.app_context():
        assert db.session.get(DeactivationProposal, proposal_id).status == "open"


def test_another_branchs_supervisor_sees_none_of_the_agents_and_changes_nothing(
    pinned_app, client, world, browsers, new_agent, wadah_id
):
    agent, receiver = new_agent(), new_agent()
    with pinned_app.app_context():
        proposal = DeactivationProposal(agent_id=agent["id"], branch_id=world["pkp"], idle_since=utcnow())
        db.session.add(proposal)
        db.session.commit()
        proposal_id = proposal.id
    browser = logged_in(pinned_app, "supervisor.ptk")
    token = csrf(browser, "/admin/agen")
    form = enrol_form(token, wadah_id) | {"reason": "penipuan", "to_agent_id": str(receiver["id"])}
    before = counts(pinned_app)

    answers = {
        (method, path): browser.open(path, method=method, data=form if method == "POST" else None)
        for method, path in _pages(world, agent["id"], proposal_id)
    }

    for (method, path), answer in answers.items():
        text = answer.get_data(as_text=True)
        assert agent["code"] not in text and agent["nik"] not in text, (method, path)
        if "/agen/" in path and "?" not in path:  # one of branch A's agents or proposals: not his
            assert answer.status_code == 404, (method, path, answer.status_code)
    assert answers["GET", f"/admin/agen?cabang={world['pkp']}"].status_code == 200  # his own branch's list
    enrolled = answers["POST", "/admin/agen"]
    assert enrolled.status_code == 422 and "wadah_id" in enrolled.get_data(as_text=True)  # A's Wadah is not his
    assert counts(pinned_app) == before
    shown = api_agent(client, world, agent["id"])
    assert (shown["status"], shown["phone"]) == ("active", agent["phone"])
    with pinned_app.app_context():
        assert db.session.get(DeactivationProposal, proposal_id).status == "open"


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(
    pinned_app, client, world, browsers, new_agent, wadah_id
):
    agent = new_agent()
    browser = browsers["supervisor"]
    before = counts(pinned_app)

    enrolled = browser.post(
        "/admin/agen", data={k: v for k, v in enrol_form("", wadah_id).items() if k != "csrf_token"}
    )
    edited = browser.post(f"/admin/agen/{agent['id']}", data={"phone": "0813-9999-0002", "areas": ""})
    stopped = browser.post(f"/admin/agen/{agent['id']}/berhentikan", data={"csrf_token": "wrong", "reason": "penipuan"})

    assert (enrolled.status_code, edited.status_code, stopped.status_code) == (400, 400, 400)
    assert counts(pinned_app) == before
    shown = api_agent(client, world, agent["id"])
    assert (shown["status"], shown["phone"], len(shown["areas"])) == ("active", agent["phone"], 2)


# --- bad input: the field's message, nothing written ---------------------------------------------------------------


def test_a_bad_enrolment_comes_back_filled_in_with_each_fields_message_and_writes_nothing(
    pinned_app, world, browsers, wadah_id
):
    browser = browsers["supervisor"]
    form = enrol_form(csrf(browser, "/admin/agen"), wadah_id, nik="1971011", areas="Gerunggang\n12345\n")
    before = counts(pinned_app)

    refused = browser.post("/admin/agen", data=form)
    schema_refused = browser.post("/admin/agen", data=form | {"name": "", "nik": nik_for(serial=702)})

    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r"NIK[^<]*16", text), text  # the service's message about the NIK, by its field
    assert "Area 2" in text  # the areas' message names the bad line
    assert 'value="siti aminah"' in text and "Gerunggang\n12345" in text  # what was typed stays
    assert schema_refused.status_code == 422 and "name" in schema_refused.get_data(as_text=True)
    assert counts(pinned_app) == before
    with pinned_app.app_context():
        assert db.session.scalar(select(StaffUser.id).where(StaffUser.full_name == "siti aminah")) is None


def test_a_bad_edit_status_or_hand_over_shows_the_fields_message_and_changes_nothing(
    pinned_app, client, world, browsers, new_agent
):
    agent, inactive, receiver = new_agent(), new_agent(), new_agent()
    client.post(
        f"/api/v1/agents/{inactive['id']}/deactivate", json={"reason": "diam"}, headers=world["supervisor"].headers
    )
    browser = browsers["supervisor"]
    token = csrf(browser, f"/admin/agen/{agent['id']}")
    url = f"/admin/agen/{agent['id']}"

    bad_phone = browser.post(url, data={"csrf_token": token, "phone": "12", "wadah_id": "x", "areas": "Semabung"})
    no_reason = browser.post(f"{url}/nonaktifkan", data={"csrf_token": token, "reason": ""})
    to_inactive = browser.post(f"{url}/serahkan", data={"csrf_token": token, "to_agent_id": str(inactive["id"])})
    no_default = browser.post(
        f"{url}/serahkan", data={"csrf_token": token, "to_agent_id": str(receiver["id"]), "by_village": "1"}
    )

    assert bad_phone.status_code == 422 and "wadah_id" in bad_phone.get_data(as_text=True)
    assert 'value="12"' in bad_phone.get_data(as_text=True)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_data(as_text=True)
    assert to_inactive.status_code == 409 and "tidak aktif" in to_inactive.get_data(as_text=True)
    assert no_default.status_code == 422 and "default_agent_id" in no_default.get_data(as_text=True)
    shown = api_agent(client, world, agent["id"])
    assert (shown["status"], shown["phone"], [a["label"] for a in shown["areas"]]) == (
        "active",
        agent["phone"],
        [a["label"] for a in agent["areas"]],
    )
