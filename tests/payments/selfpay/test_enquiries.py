"""Text enquiries: ``CEK <KPJ>`` through the SMS gateway's signed webhook is answered by text to the phone on record
only, once per gateway message, a few times a day at most; the gateway's answer is the same for every text."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from collection.members.models import Member
from collection.members.paylinks import read_token, signer_of
from core.extensions import db
from core.outbox import OutboxMessage
from core.settings import DEVELOPMENT_SMS_INBOUND_SECRET
from payments.autodebit.signatures import sign_generic
from payments.selfpay.enquiries import ANSWERS_PER_MEMBER_PER_DAY, answer_waiting_texts, enquired_number, limits_of
from payments.selfpay.models import InboundText

STRANGER = "+6281299990000"


def send(client: Any, text: str, message_id: str, sender: str = STRANGER, secret: str = "") -> Any:
    body = json.dumps({"message_id": message_id, "from": sender, "text": text}).encode()
    signature = sign_generic(secret or DEVELOPMENT_SMS_INBOUND_SECRET, body, int(time.time()))
    return client.post(
        "/webhooks/sms/gateway", data=body, headers={"Content-Type": "application/json", "X-Signature": signature}
    )


def answer_waiting(app: Any) -> int:
    """What the worker's job does (workers.jobs.answer_texts), in this process, on the app's (pinned) clock."""
    with app.app_context():
        return answer_waiting_texts(db.session, signer_of(app.config), limits_of(app.config), app.config["CLOCK"]())


def answers(app: Any) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (m.recipient, m.body)
            for m in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "cek_answer").order_by(OutboxMessage.id)
            )
        ]


def outcomes(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(InboundText.outcome).order_by(InboundText.id)))


@pytest.fixture
def member(pinned_app: Any, enrol: Any) -> dict[str, Any]:
    return enrol()


def test_the_enquiry_is_read_in_any_case_and_spacing():
    assert enquired_number("CEK 12345678901") == "12345678901"
    assert enquired_number("  cek1234 5678 901 ") == "12345678901"
    assert enquired_number("Cek 1971-0112-9000-0001") == "1971011290000001"  # a NIK
    assert enquired_number("cek kpj: 12345678901") == enquired_number("CEK NIK 12345678901") == "12345678901"
    assert enquired_number("CEK 1234") is None and enquired_number("halo") is None
    assert enquired_number("CEK 12345678901 tolong") is None


def test_the_answer_goes_to_the_phone_on_record_whoever_asked(pinned_app, client, member):
    answer = send(client, f"cek  {member['kpj']}", "msg-1")
    assert (answer.status_code, answer.get_json()) == (200, {"received": True})
    assert answer_waiting(pinned_app) == 1

    [(recipient, body)] = answers(pinned_app)
    with pinned_app.app_context():
        on_record = db.session.get(Member, member["id"]).phone
    assert recipient == on_record != STRANGER
    assert body.startswith("BPJS Ketenagakerjaan: KPJ " + member["kpj"]) and "Bayar online: http" in body
    assert "status Aktif" in body and "lunas sampai" in body  # Indonesian, with the standing
    token = body.rsplit("/peserta/b/", 1)[1]
    link = read_token(str(pinned_app.config["SECRET_KEY"]), token, on_record)
    assert link is not None and link.member_id == member["id"]
    assert client.get(f"/peserta/b/{token}").status_code == 200  # the link opens his payment
    assert outcomes(pinned_app) == ["answered"]


def test_an_unknown_kpj_or_any_other_text_gets_the_same_answer_and_no_text(pinned_app, client, member):
    known = send(client, f"CEK {member['kpj']}", "msg-known")
    unknown = send(client, "CEK 99999999999", "msg-unknown")
    other = send(client, "halo, iuran saya berapa?", "msg-other")
    assert {(a.status_code, a.get_data(as_text=True)) for a in (known, unknown, other)} == {
        (200, known.get_data(as_text=True))
    }
    answer_waiting(pinned_app)
    assert len(answers(pinned_app)) == 1
    assert outcomes(pinned_app) == ["answered", "ignored", "ignored"]


def test_a_duplicate_message_id_is_handled_once(pinned_app, client, member):
    first = send(client, f"CEK {member['kpj']}", "msg-dup")
    again = send(client, f"CEK {member['kpj']}", "msg-dup")
    assert first.get_json() == again.get_json() == {"received": True}
    answer_waiting(pinned_app)
    assert len(answers(pinned_app)) == 1 and outcomes(pinned_app) == ["answered"]


def test_a_bad_or_missing_signature_is_refused(pinned_app, client, member):
    forged = send(client, f"CEK {member['kpj']}", "msg-forged", secret="not-the-gateways-secret")
    body = json.dumps({"message_id": "msg-unsigned", "from": STRANGER, "text": f"CEK {member['kpj']}"})
    unsigned = client.post("/webhooks/sms/gateway", data=body, headers={"Content-Type": "application/json"})
    assert forged.status_code == 401 and unsigned.status_code == 401
    assert forged.get_json()["code"] == 401
    assert answers(pinned_app) == [] and outcomes(pinned_app) == []
    assert client.post("/webhooks/sms/nobody", data=body).status_code == 404


def test_a_malformed_body_is_a_400_storing_nothing(pinned_app, client):
    for raw in (b"not json", b"[]", json.dumps({"message_id": "x", "text": "CEK 1"}).encode()):
        signature = sign_generic(DEVELOPMENT_SMS_INBOUND_SECRET, raw, int(time.time()))
        answer = client.post("/webhooks/sms/gateway", data=raw, headers={"X-Signature": signature})
        assert answer.status_code == 400, raw
    assert outcomes(pinned_app) == []


def test_a_member_gets_a_few_answers_a_day_however_many_ask(pinned_app, client, member):
    for n in range(ANSWERS_PER_MEMBER_PER_DAY + 3):
        assert send(client, f"CEK {member['kpj']}", f"msg-flood-{n}", sender=f"+62812000000{n}").status_code == 200
    answer_waiting(pinned_app)
    assert len(answers(pinned_app)) == ANSWERS_PER_MEMBER_PER_DAY
    assert outcomes(pinned_app) == ["answered"] * ANSWERS_PER_MEMBER_PER_DAY + ["limited"] * 3
