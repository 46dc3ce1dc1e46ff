"""The agent's own incentive page in the agents' app (/agen/insentif): his statement, lines and pending cash,
never another agent's."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from tests.agents.field.test_pages import login
from tests.agents.incentives.test_statements import OCTOBER_28, OCTOBER_30, at, enrol_many, pay, settle_the_day
from tests.factories import NOW


def rp(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")


def own_api(client: Any, agent: Any, month: str = "2026-10") -> dict[str, Any]:
    response = client.get(f"/api/v1/agents/me/incentives/{month}", headers=agent.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def october(pinned_app, client, world, make_staff):
    """Agent A enrolled 25 new NIKs in October, collected from two (deposited and approved) and from a third
    on the 30th (not deposited); agent B enrolled one member and collected nothing."""
    world["agent_b"] = make_staff("agent", world["pkp"], "agent.b")
    at(pinned_app, OCTOBER_28)
    members = enrol_many(client, world["agent"], 25, package="JKK+JKM+JHT")
    amounts = [pay(client, world["agent"], m)["amount_idr"] for m in members[:2]]
    settle_the_day(client, world, sum(amounts), date(2026, 10, 28))
    enrol_many(client, world["agent_b"], 1, first_serial=100)
    at(pinned_app, OCTOBER_30)
    pending = pay(client, world["agent"], members[2])["amount_idr"]
    at(pinned_app, NOW)
    world.update(amounts=amounts, pending=pending)
    return world


def test_the_agent_sees_his_own_statement_with_its_lines_and_pending_cash(client, october):
    api = own_api(client, october["agent"])
    login(client)

    page = client.get("/agen/insentif?month=2026-10").get_data(as_text=True)
    lines = re.search(r'<ul class="list" id="lines">(.*?)</ul>', page, re.S).group(1)
    pending = re.search(r'<ul class="list" id="pending-lines">(.*?)</ul>', page, re.S).group(1)

    assert "Insentif saya · Okt 2026" in page and "Sementara: keuangan belum menyetujui" in page
    assert re.search(r'id="new-niks">25 \(target 25 tercapai\)', page)
    assert re.search(r'id="acquisition">' + rp(25 * 15_000) + "<", page)
    assert re.search(r'id="collection">' + rp(api["collection_idr"]) + "<", page)
    assert re.search(r'id="payable"><strong>' + rp(api["payable_idr"]) + "<", page)
    assert re.search(r'id="pending">' + rp(round(october["pending"] * 0.15)) + "<", page)
    assert len(re.findall(r'<li class="line kind-acquisition">', lines)) == 25
    assert len(re.findall(r'<li class="line kind-collection">', lines)) == 2
    assert "15% (bulan ke-1)" in lines and "layak dibayar 28 Okt 2026" in lines
    assert len(re.findall(r"<li ", pending)) == 1 and "ditagih 30 Okt 2026" in pending
    assert "<svg" not in page  # light for cheap phones


def test_another_agent_sees_only_his_own(client, october):
    login(client, "agent.b")

    page = client.get("/agen/insentif?month=2026-10").get_data(as_text=True)

    assert re.search(r'id="new-niks">1 \(belum 25', page)
    assert re.search(r'id="payable"><strong>Rp0<', page) and re.search(r'id="pending">Rp0<', page)
    assert "kind-collection" not in page and "pending-lines" not in page
    assert "collected on 2026-10-30" not in page and rp(25 * 15_000) not in page


def test_an_approved_month_says_it_is_final(client, october):
    approved = client.post(
        f"/api/v1/branches/{october['pkp']}/incentives/2026-10/approve", headers=october["finance"].headers
    )
    login(client)

    page = client.get("/agen/insentif?month=2026-10").get_data(as_text=True)

    assert approved.status_code == 200
    assert "Disetujui keuangan: final." in page
    assert re.search(r'id="payable"><strong>' + rp(own_api(client, october["agent"])["payable_idr"]) + "<", page)


def test_the_page_defaults_to_this_month_is_linked_from_home_and_refuses_a_bad_month(client, october):
    login(client)

    home = client.get("/agen/").get_data(as_text=True)
    this_month = client.get("/agen/insentif").get_data(as_text=True)
    bad = client.get("/agen/insentif?month=2026-13")
    english = client.get("/agen/insentif?month=2026-10&lang=en").get_data(as_text=True)

    assert 'href="/agen/insentif"' in home
    assert "Insentif saya · Nov 2026" in this_month and 'href="/agen/insentif?month=2026-10"' in this_month
    assert "?month=2026-12" not in this_month  # no link into the future
    assert bad.status_code == 400 and "Bulan tidak valid" in bad.get_data(as_text=True)
    assert "My incentives · Oct 2026" in english and "Payable" in english


def test_the_page_needs_an_agents_login(client, world):
    response = client.get("/agen/insentif")

    assert response.status_code == 302 and "/agen/masuk" in response.headers["Location"]
