"""The agent answers a day finance returned (payments/finance/answers.py): a note on the batch, audit-logged, the
batch back in finance's queue; from the API and from his phone, with a corrected deposit if need be."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from payments.ledger.models import DailyBatch, Deposit
from tests.agents.field.test_pages import csrf, login
from tests.payments.finance.test_batches import close, code, day  # noqa: F401 (the fixture)
from tests.payments.finance.test_desk import login as desk_login


def returned(client, world, who: str = "agent") -> dict:
    batch = close(client, world)[code(world, who)]
    response = client.post(
        f"/api/v1/batches/{batch['id']}/return", json={"reason": "Slip hilang"}, headers=world["finance"].headers
    )
    assert response.status_code == 200
    return batch


def test_the_agent_answers_a_returned_day_and_it_goes_back_to_finance(client, day):  # noqa: F811
    batch = returned(client, day)
    url = f"/api/v1/batches/{batch['id']}/answer"

    short = client.post(url, json={"note": "ok"}, headers=day["agent"].headers)
    answered = client.post(url, json={"note": "Slip sudah saya kirim lewat WA"}, headers=day["agent"].headers)
    again = client.post(url, json={"note": "Slip sudah saya kirim lewat WA"}, headers=day["agent"].headers)
    other = client.post(url, json={"note": "catatan lain"}, headers=day["agent"].headers)
    seen = client.get(f"/api/v1/batches/{batch['id']}", headers=day["finance"].headers).get_json()

    assert short.status_code == 422 and "note" in short.get_json()["errors"]["json"]
    assert answered.status_code == again.status_code == 200
    assert answered.get_json() | {"answered_at": None} == {
        "id": batch["id"],
        "business_date": "2026-11-19",
        "status": "closed",
        "returned_reason": "Slip hilang",
        "answer_note": "Slip sudah saya kirim lewat WA",
        "answered_at": None,
    }
    assert other.status_code == 409  # finance has the day again
    assert (seen["status"], seen["answer_note"]) == ("closed", "Slip sudah saya kirim lewat WA")
    with client.application.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "batch.answered")).all()
        assert len(events) == 1 and events[0].actor_user_id == day["agent"].id


def test_only_the_batchs_own_agent_answers_it(client, day):  # noqa: F811
    batch = returned(client, day)
    url = f"/api/v1/batches/{batch['id']}/answer"
    body = {"note": "bukan hari saya"}

    assert client.post(url, json=body, headers=day["agent_b"].headers).status_code == 404
    assert client.post(url, json=body, headers=day["finance"].headers).status_code == 403
    with client.application.app_context():
        assert db.session.get(DailyBatch, batch["id"]).status == "returned"


def test_the_agent_answers_from_his_phone_with_a_corrected_deposit_sent_once(client, day):  # noqa: F811
    batch = returned(client, day)
    login(client, "agent.pkp")
    home = client.get("/agen/").get_data(as_text=True)
    assert f'href="/agen/dikembalikan/{batch["id"]}"' in home
    page = client.get(f"/agen/dikembalikan/{batch['id']}").get_data(as_text=True)
    assert "Keuangan mengembalikan setoran tanggal 19 Nov 2026: Slip hilang" in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": csrf(client, "/agen/"),
        "idempotency_key": key,
        "note": "Sudah saya setor hari ini",
        "amount_idr": "8.400",
        "bank_reference": "BRI-SUSULAN-1",
    }

    bad = client.post(f"/agen/dikembalikan/{batch['id']}", data=form | {"note": "x"})
    sent = client.post(f"/agen/dikembalikan/{batch['id']}", data=form)
    resent = client.post(f"/agen/dikembalikan/{batch['id']}", data=form)

    assert bad.status_code == 422 and "3 sampai 300 karakter" in bad.get_data(as_text=True)
    assert sent.status_code == resent.status_code == 303
    with client.application.app_context():
        deposits = db.session.scalar(
            select(func.count()).select_from(Deposit).where(Deposit.bank_reference == "BRI-SUSULAN-1")
        )
        saved = db.session.get(DailyBatch, batch["id"])
        assert deposits == 1
        assert (saved.status, saved.answer_note) == ("closed", "Sudah saya setor hari ini")
    assert "Slip hilang" not in client.get("/agen/").get_data(as_text=True)
    again = client.get(f"/agen/dikembalikan/{batch['id']}")  # nothing left to answer: home, saying so
    assert again.status_code == 303 and again.headers["Location"] == "/agen/"
    assert "sudah di tangan keuangan lagi" in client.get("/agen/").get_data(as_text=True)


def test_finance_sees_the_agents_answer_on_the_batch_page(client, day):  # noqa: F811
    batch = returned(client, day)
    client.post(f"/api/v1/batches/{batch['id']}/answer", json={"note": "Slip terlampir"}, headers=day["agent"].headers)
    desk_login(client)
    page = client.get(f"/keuangan/batch/{batch['id']}").get_data(as_text=True)

    assert re.search(r'id="agent-answer">Slip terlampir \(', page)
