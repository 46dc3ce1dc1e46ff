"""Outsider's probes of pay links and CEK texts (attack 4): what a stranger can send to /peserta/b/<token> and to
the SMS gateway's webhook."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.settings import DEVELOPMENT_SMS_INBOUND_SECRET
from payments.autodebit import providers
from payments.autodebit.signatures import sign_generic
from payments.ledger.models import Payment
from payments.selfpay.enquiries import ANSWERS_PER_MEMBER_PER_DAY
from payments.selfpay.models import InboundText, SelfCharge
from tests.payments.selfpay.conftest import CSRF, deliver, process, queued_bodies
from tests.payments.selfpay.test_enquiries import STRANGER, answer_waiting, answers, outcomes, send
from tests.payments.selfpay.test_pay_links import charges, csrf, in_arrears  # noqa: F401 (fixture)


def signed_post(client: Any, raw: bytes, at: int | None = None) -> Any:
    signature = sign_generic(DEVELOPMENT_SMS_INBOUND_SECRET, raw, int(time.time()) if at is None else at)
    return client.post(
        "/webhooks/sms/gateway", data=raw, headers={"Content-Type": "application/json", "X-Signature": signature}
    )


def test_a_lone_surrogate_in_a_text_is_a_400_not_a_500(pinned_app, client, enrol):
    """JSON may spell a lone UTF-16 surrogate (\\ud800); the database cannot store it."""
    for field in ("text", "from", "message_id"):
        body = {"message_id": "msg-sur", "from": STRANGER, "text": "CEK 12345678901"}
        body[field] = body[field] + "\ud800"
        raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as \ud800
        answer = signed_post(client, raw)
        assert answer.status_code == 400, (field, answer.status_code, answer.get_data(as_text=True)[:200])
    assert outcomes(pinned_app) == []


def test_a_signature_of_another_body_or_an_old_one_is_refused(pinned_app, client, enrol):
    member = enrol()
    good = json.dumps({"message_id": "m1", "from": STRANGER, "text": f"CEK {member['kpj']}"}).encode()
    other = json.dumps({"message_id": "m2", "from": STRANGER, "text": f"CEK {member['kpj']}"}).encode()
    signature = sign_generic(DEVELOPMENT_SMS_INBOUND_SECRET, good, int(time.time()))
    replayed = client.post("/webhooks/sms/gateway", data=other, headers={"X-Signature": signature})
    old = signed_post(client, other, at=int(time.time()) - 3600)
    assert (replayed.status_code, old.status_code) == (401, 401)
    assert answers(pinned_app) == [] and outcomes(pinned_app) == []


def test_a_long_text_is_stored_cut_and_answered_the_same(pinned_app, client, enrol):
    member = enrol()
    long = send(client, "CEK " + member["kpj"] + " " * 10_000, "msg-long")
    noise = send(client, "x" * 10_000, "msg-noise")
    assert (long.status_code, noise.status_code) == (200, 200)
    answer_waiting(pinned_app)
    [(recipient, _)] = answers(pinned_app)
    assert recipient != STRANGER
    with pinned_app.app_context():
        assert all(len(b) <= 320 for b in db.session.scalars(select(InboundText.body)))


def test_the_link_page_sets_no_member_session(pinned_app, client, in_arrears):  # noqa: F811
    client.get(in_arrears["link"])
    client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)})
    with client.session_transaction() as session:
        assert "peserta" not in session
    assert client.get("/peserta/").status_code == 303


def test_the_link_post_wants_the_csrf_token(pinned_app, client, in_arrears, sandbox):  # noqa: F811
    client.get(in_arrears["link"])
    answer = client.post(in_arrears["link"], data={"method": "va"})
    assert answer.status_code in (400, 403), answer.status_code
    assert charges(pinned_app) == []


def test_token_spellings_other_than_ours_are_refused(pinned_app, client, in_arrears):  # noqa: F811
    token = in_arrears["link"].rsplit("/", 1)[1]
    variants = [
        token + "=",
        token + "==",
        token[:-1],
        token + "A",
        token.replace("-", "+").replace("_", "/"),
        token[:10] + "." + token[11:],
        " " + token[1:],
        token.upper(),
        "%00" + token[3:],
    ]
    for variant in variants:
        if variant == token:
            continue
        answer = client.get("/peserta/b/" + variant)
        assert answer.status_code in (400, 404), (variant, answer.status_code)


def test_clicking_the_link_twice_opens_one_charge(pinned_app, client, in_arrears, sandbox):  # noqa: F811
    token = csrf(client)
    first = client.post(in_arrears["link"], data={"method": "va", "csrf_token": token})
    second = client.post(in_arrears["link"], data={"method": "va", "csrf_token": token})
    assert first.headers["Location"] == second.headers["Location"]
    assert len(charges(pinned_app)) == 1


def test_a_charge_of_the_same_member_from_another_link_is_not_shown(pinned_app, client, in_arrears, sandbox):  # noqa: F811
    client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)})
    [charge] = charges(pinned_app)
    with pinned_app.app_context():
        assert db.session.get(SelfCharge, charge.id) is not None
    assert client.get(f"{in_arrears['link']}/{charge.id + 1}").status_code == 404


@pytest.mark.postgresql_only
def test_many_enquiries_at_once_still_get_a_few_answers_a_day(pinned_app, enrol):
    """Twelve gateway deliveries for one member at the same moment, each on its own connection, each followed by a
    worker's answering run."""
    member = enrol()
    start = threading.Barrier(12)
    results: list[int] = []

    def one(n: int) -> None:
        client = pinned_app.test_client()
        start.wait()
        results.append(send(client, f"CEK {member['kpj']}", f"msg-race-{n}", sender=f"+6281200000{n:02d}").status_code)
        answer_waiting(pinned_app)  # as many workers answering as texts arriving

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 12
    assert len(answers(pinned_app)) == ANSWERS_PER_MEMBER_PER_DAY
    assert sorted(outcomes(pinned_app)) == ["answered"] * ANSWERS_PER_MEMBER_PER_DAY + ["limited"] * 9


def pay_cash(client: Any, world: dict[str, Any], member_id: int, months: int) -> None:
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    answer = client.post("/api/v1/contributions", json={"member_id": member_id, "months": months}, headers=headers)
    assert answer.status_code == 201, answer.get_json()


def test_a_link_whose_months_were_paid_in_cash_opens_nothing(pinned_app, client, world, in_arrears, sandbox):  # noqa: F811
    pay_cash(client, world, in_arrears["id"], 3)  # the counter takes all the arrears at once
    assert client.get(in_arrears["link"]).status_code == 410
    assert client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)}).status_code == 410
    assert charges(pinned_app) == []


def test_a_va_opened_by_link_then_paid_in_cash_does_not_settle_twice(pinned_app, client, world, in_arrears, sandbox):  # noqa: F811
    opened = client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)})
    assert opened.status_code == 303
    pay_cash(client, world, in_arrears["id"], 3)
    [charge] = charges(pinned_app)
    sandbox.pay(charge.order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)
    with pinned_app.app_context():
        settled = list(
            db.session.scalars(select(Payment).where(Payment.status == "settled", Payment.channel == "virtual_account"))
        )
    assert settled == []  # the VA money goes to review, not a second settlement of the same months


def test_a_charge_id_past_the_databases_integers_is_the_neutral_refusal(pinned_app, client, in_arrears):  # noqa: F811
    for charge_id in (2**31, 2**63, 10**30):
        answer = client.get(f"{in_arrears['link']}/{charge_id}")
        assert answer.status_code == 404, (charge_id, answer.status_code)


@pytest.mark.postgresql_only
def test_one_link_on_two_phones_at_once_opens_one_charge(pinned_app, in_arrears, sandbox, monkeypatch):  # noqa: F811
    """The text forwarded to a second phone, both tapping VA while the first request is still at the provider."""
    phones = [pinned_app.test_client() for _ in range(3)]
    for phone in phones:
        csrf(phone)
    real = providers.MidtransProvider.charge_payment
    slow = threading.Event()

    def slow_provider(self: Any, *args: Any, **kwargs: Any) -> Any:
        slow.wait(timeout=1.5)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(providers.MidtransProvider, "charge_payment", slow_provider)
    results: list[Any] = [None] * len(phones)
    start = threading.Barrier(len(phones))

    def tap(i: int, phone: Any) -> None:
        start.wait()
        results[i] = phone.post(in_arrears["link"], data={"method": "va", "csrf_token": CSRF})

    threads = [threading.Thread(target=tap, args=(i, p)) for i, p in enumerate(phones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [303] * len(phones)
    opened = charges(pinned_app)
    assert len(opened) == 1, [(c.id, c.status) for c in opened]


def test_the_link_token_stays_out_of_the_access_log(pinned_app, client, in_arrears, sandbox, caplog):  # noqa: F811
    """The token opens the member's payment for 7 days: like a receipt's code, the access log keeps the route only."""
    token = in_arrears["link"].rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="iuran.access"):
        client.get(in_arrears["link"])
        opened = client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)})
        client.get(opened.headers["Location"])
        client.get("/peserta/b/" + "A" * 28)
    lines = [r for r in caplog.records if r.name == "iuran.access"]
    assert len(lines) == 4
    assert not [r.getMessage() for r in lines if token in r.getMessage() or token in str(getattr(r, "path", ""))]
    assert not [r.getMessage() for r in lines if "A" * 28 in r.getMessage()]


@pytest.mark.sqlite_only
def test_a_huge_body_is_refused_before_it_is_read(pinned_app, client):
    huge = b'{"message_id": "m", "from": "+62", "text": "' + b"x" * (21 * 1024 * 1024) + b'"}'
    answer = signed_post(client, huge)
    assert answer.status_code == 413
    assert outcomes(pinned_app) == []


def test_an_unknown_gateway_is_a_404_that_stores_nothing(pinned_app, client, enrol):
    member = enrol()
    raw = json.dumps({"message_id": "m-x", "from": STRANGER, "text": f"CEK {member['kpj']}"}).encode()
    signature = sign_generic(DEVELOPMENT_SMS_INBOUND_SECRET, raw, int(time.time()))
    for name in ("twilio", "Gateway", "gateway%20", "__class__"):
        answer = client.post(f"/webhooks/sms/{name}", data=raw, headers={"X-Signature": signature})
        assert answer.status_code == 404, name
    assert answers(pinned_app) == [] and outcomes(pinned_app) == []


def test_a_mangled_link_keeps_its_token_out_of_the_access_log_too(pinned_app, client, in_arrears, caplog):  # noqa: F811
    """A link cut or glued to other text in a chat app reaches no route: the token is still the member's."""
    token = in_arrears["link"].rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="iuran.access"):
        for tail in ("/", "/abc", "/1/x", ").", "/1/"):
            client.get(in_arrears["link"] + tail)
    lines = [r.getMessage() for r in caplog.records if r.name == "iuran.access"]
    assert len(lines) == 5
    assert [line for line in lines if token in line] == []
