"""CEK texts answered by a worker, within limits: the webhook's request only stores the text (the same statements for
a known KPJ as for an unknown one), the worker's job answers each text once however often it runs, and a sending
phone and a gateway get a few answers a day, also when many texts are answered at once. Stored texts are purged."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from core.extensions import db
from core.settings import DEVELOPMENT_SMS_INBOUND_SECRET
from payments.autodebit.signatures import sign_generic
from payments.selfpay import enquiries
from payments.selfpay.enquiries import LIMIT_WINDOW, purge_inbound_texts
from payments.selfpay.models import InboundText
from tests.factories import NOW, nik_for
from tests.payments.selfpay.test_enquiries import answer_waiting, answers, outcomes, send
from workers.queues import ANSWER_TEXTS, HIGH, queue

SENDER = "+6281377770000"


@pytest.fixture
def members(pinned_app: Any, enrol: Any) -> list[dict[str, Any]]:
    """Twelve members of the branch, each with his own phone."""
    return [enrol(nik=nik_for(serial=n + 1), phone=f"0812-5555-{n:04d}") for n in range(12)]


def statements_of(app: Any, request: Any) -> list[str]:
    """The SQL statements ``request()`` runs on the app's database."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_webhook_only_stores_the_text_and_reads_no_member(pinned_app, client, members):
    known = statements_of(pinned_app, lambda: send(client, f"CEK {members[0]['kpj']}", "msg-known"))
    unknown = statements_of(pinned_app, lambda: send(client, "CEK 99999999999", "msg-unknown"))
    assert [s for s in known if "members" in s or "outbox" in s] == []
    assert known == unknown  # the same statements, so the same work, whether the KPJ exists or not
    assert outcomes(pinned_app) == ["received", "received"] and answers(pinned_app) == []

    assert answer_waiting(pinned_app) == 1  # the worker answers
    assert outcomes(pinned_app) == ["answered", "ignored"] and len(answers(pinned_app)) == 1


def test_the_job_enqueued_twice_answers_once(pinned_app, client, members, rq_burst):
    """The webhook enqueued the job already; the cron sweep enqueues it again: a real worker runs both."""
    assert send(client, f"CEK {members[0]['kpj']}", "msg-twice").status_code == 200
    with pinned_app.app_context():
        queue(HIGH).enqueue(ANSWER_TEXTS)
        assert queue(HIGH).count == 2
    rq_burst(HIGH)
    assert outcomes(pinned_app) == ["answered"] and len(answers(pinned_app)) == 1
    assert answer_waiting(pinned_app) == 0 and len(answers(pinned_app)) == 1


def test_a_sender_gets_a_few_answers_a_day_over_every_kpj_it_asks_about(pinned_app, client, members):
    limit = pinned_app.config["CEK_ANSWERS_PER_SENDER"]
    assert 0 < limit < len(members)
    for n, member in enumerate(members):
        assert send(client, f"CEK {member['kpj']}", f"msg-sender-{n}", sender=SENDER).status_code == 200
    answer_waiting(pinned_app)
    assert len(answers(pinned_app)) == limit
    assert outcomes(pinned_app) == ["answered"] * limit + ["limited"] * (len(members) - limit)

    # another phone is not held back; the same phone is answered again once the day's answers are 24 hours old
    send(client, f"CEK {members[-1]['kpj']}", "msg-other-phone", sender="+6281377779999")
    pinned_app.config["CLOCK"] = lambda: NOW + LIMIT_WINDOW + timedelta(minutes=1)
    send(client, f"CEK {members[-2]['kpj']}", "msg-next-day", sender=SENDER)
    answer_waiting(pinned_app)
    assert outcomes(pinned_app)[-2:] == ["answered", "answered"]


def test_a_gateway_answers_at_most_its_cap_a_day(pinned_app, client, members):
    pinned_app.config["CEK_ANSWERS_PER_GATEWAY"] = 4
    for n, member in enumerate(members[:6]):
        assert send(client, f"CEK {member['kpj']}", f"msg-cap-{n}", sender=f"+62813000000{n:02d}").status_code == 200
    answer_waiting(pinned_app)
    assert len(answers(pinned_app)) == 4
    assert outcomes(pinned_app) == ["answered"] * 4 + ["limited"] * 2


def _at_once(app: Any, texts: list[tuple[str, str, str]]) -> None:
    """Each text delivered on its own connection at the same moment, each followed by a worker's answering run."""
    start = threading.Barrier(len(texts))
    failures: list[BaseException] = []

    def one(text: str, message_id: str, sender: str) -> None:
        try:
            start.wait()
            assert send(app.test_client(), text, message_id, sender=sender).status_code == 200
            answer_waiting(app)
        except BaseException as error:  # reported by the test, not lost in its thread
            failures.append(error)

    threads = [threading.Thread(target=one, args=t) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_many_texts_of_one_sender_at_once_still_get_its_few_answers(pinned_app, members):
    limit = pinned_app.config["CEK_ANSWERS_PER_SENDER"]
    _at_once(pinned_app, [(f"CEK {m['kpj']}", f"msg-race-sender-{n}", SENDER) for n, m in enumerate(members)])
    assert len(answers(pinned_app)) == limit
    assert sorted(outcomes(pinned_app)) == ["answered"] * limit + ["limited"] * (len(members) - limit)


def test_many_texts_at_once_stay_within_the_gateways_cap(pinned_app, members):
    pinned_app.config["CEK_ANSWERS_PER_GATEWAY"] = 4
    _at_once(
        pinned_app, [(f"CEK {m['kpj']}", f"msg-race-cap-{n}", f"+62813100000{n:02d}") for n, m in enumerate(members)]
    )
    assert len(answers(pinned_app)) == 4
    assert sorted(outcomes(pinned_app)) == ["answered"] * 4 + ["limited"] * (len(members) - 4)


def test_the_purge_deletes_old_texts_in_batches_and_keeps_what_is_still_counted(pinned_app, client, members):
    for n in range(5):
        send(client, f"CEK {members[n]['kpj']}", f"msg-old-{n}", sender=SENDER)
    answer_waiting(pinned_app)
    send(client, "CEK 99999999999", "msg-waiting")  # not answered yet: kept whatever its age
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=80)
    send(client, f"CEK {members[5]['kpj']}", "msg-recent")
    answer_waiting(pinned_app)
    with pinned_app.app_context():
        db.session.execute(
            InboundText.__table__.update().where(InboundText.message_id == "msg-waiting").values(outcome="received")
        )
        db.session.commit()
        later = NOW + timedelta(days=91)
        assert purge_inbound_texts(db.session, later, keep_days=90, batch=2) == 5
        assert purge_inbound_texts(db.session, later, keep_days=90, batch=2) == 0  # idempotent
        kept = set(db.session.scalars(select(InboundText.message_id)))
        assert kept == {"msg-waiting", "msg-recent"}
        # a retention shorter than the limits' 24 hours keeps the texts they count
        assert purge_inbound_texts(db.session, NOW + timedelta(days=80, hours=23), keep_days=0) == 0
        assert db.session.scalar(select(func.count()).select_from(InboundText)) == 2


def test_a_text_that_cannot_be_answered_does_not_hold_back_the_next(pinned_app, client, members, monkeypatch, caplog):
    real = enquiries.answer_text

    def broken_for_the_first(member: Any, position: Any, link: Any) -> str:
        if member.id == members[0]["id"]:
            raise ValueError("a member's position we cannot word")
        return real(member, position, link)

    monkeypatch.setattr(enquiries, "answer_text", broken_for_the_first)
    send(client, f"CEK {members[0]['kpj']}", "msg-broken")
    send(client, f"CEK {members[1]['kpj']}", "msg-next")
    assert answer_waiting(pinned_app) == 1
    assert outcomes(pinned_app) == ["ignored", "answered"]
    assert "could not answer inbound text" in caplog.text


def test_texts_that_waited_past_a_day_for_the_worker_stay_within_the_gateways_cap(pinned_app, client, members):
    """Workers down for a day (Redis lost, a bad deploy) leave texts waiting; when they come back the backlog is
    answered at once. The caps count the answers of the texts received in the 24 hours before each text, so the
    backlog gets the gateway's few answers, not one for every text that waited."""
    pinned_app.config["CEK_ANSWERS_PER_GATEWAY"] = 4
    for n, member in enumerate(members[:6]):
        assert (
            send(client, f"CEK {member['kpj']}", f"msg-backlog-{n}", sender=f"+62813200000{n:02d}").status_code == 200
        )
    pinned_app.config["CLOCK"] = lambda: NOW + LIMIT_WINDOW + timedelta(hours=1)  # the workers are back
    answer_waiting(pinned_app)
    assert len(answers(pinned_app)) == 4
    assert outcomes(pinned_app) == ["answered"] * 4 + ["limited"] * 2


@pytest.mark.postgresql_only
def test_one_sender_texting_two_gateways_at_once_still_gets_its_few_answers(pinned_app, client, members, monkeypatch):
    """A branch with two SMS gateways (two numbers): one phone texts both, and two workers answer at the same moment.
    Each worker holds its own gateway's lock; both counted the sender's answers before either committed, so the
    sender got one answer more than his cap. His count is taken under his own lock too."""
    pinned_app.config["CEK_ANSWERS_PER_SENDER"] = 1
    gateways = pinned_app.config["SMS_INBOUND_PROVIDERS"]
    pinned_app.config["SMS_INBOUND_PROVIDERS"] = gateways | {"second": gateways["gateway"]}
    body = json.dumps({"message_id": "msg-second", "from": SENDER, "text": f"CEK {members[1]['kpj']}"}).encode()
    signature = sign_generic(DEVELOPMENT_SMS_INBOUND_SECRET, body, int(time.time()))
    assert send(client, f"CEK {members[0]['kpj']}", "msg-first", sender=SENDER).status_code == 200
    second = client.post(
        "/webhooks/sms/second", data=body, headers={"Content-Type": "application/json", "X-Signature": signature}
    )
    assert second.status_code == 200

    counted = threading.Barrier(2)  # both workers have counted the sender's answers before either goes on
    real = enquiries._answered_since

    def meet_after_counting(session: Any, since: Any, *where: Any) -> int:
        count = real(session, since, *where)
        if "sender" in str(where[0]):
            try:
                counted.wait(timeout=3)  # with the sender's lock, the other worker waits for this one instead
            except threading.BrokenBarrierError:
                pass
        return count

    monkeypatch.setattr(enquiries, "_answered_since", meet_after_counting)
    workers = [threading.Thread(target=answer_waiting, args=(pinned_app,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(outcomes(pinned_app)) == ["answered", "limited"]
    assert len(answers(pinned_app)) == 1
