"""The SMS gateway's webhook for inbound texts (``CEK <KPJ>``): signed like the generic provider callbacks (an
``X-Signature: t=…,v1=…`` HMAC of the raw body, payments/autodebit/signatures.py), handled once per message id, and
answered the same whatever the text said: the request only stores the text; a worker looks the member up and
answers (payments/selfpay/enquiries.py), so a known KPJ costs the request no more than an unknown one."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from core.clock import app_now, utcnow
from core.errors import envelope
from core.extensions import db
from core.refusals import record_refusal, refusals
from core.refusals import seconds_left as refusal_seconds_left
from organisation.logins import address_network
from payments.autodebit.signatures import SignatureError, verify_generic
from payments.selfpay.enquiries import store_text
from workers.queues import schedule_text_answers

bp = Blueprint("sms", __name__)
log = logging.getLogger(__name__)
REFUSED = "sms_webhook.refused"  # the audit action, and the refusals' counter per address
FIELDS = ("message_id", "from", "text")  # the body: {"message_id": "…", "from": "+62…", "text": "CEK 12345678901"}


def _bad_body(message: str) -> ResponseReturnValue:
    return jsonify(envelope(400, "Bad Request", message)), 400


@bp.post("/webhooks/sms/<string:provider_name>")
def receive_text(provider_name: str) -> ResponseReturnValue:
    """One inbound text: verified and stored once, for a worker to answer (if at all) to the phone on record; 200
    for every text."""
    gateway = current_app.config.get("SMS_INBOUND_PROVIDERS", {}).get(provider_name)
    if gateway is None:
        return jsonify(envelope(404, "Not Found", f"No SMS gateway called {provider_name!r}.")), 404
    address = address_network(request.remote_addr)
    window = current_app.config["WEBHOOK_REFUSAL_WINDOW_SECONDS"]
    if refusals(REFUSED, address, window) >= current_app.config["WEBHOOK_REFUSALS_PER_ADDRESS"]:
        wait = refusal_seconds_left(REFUSED, address, window)
        message = f"Too many refused callbacks from this address: send again in {wait} seconds."
        return jsonify(envelope(429, "Too Many Requests", message)), 429, {"Retry-After": str(wait)}
    raw = request.get_data(cache=False)
    now = utcnow()
    try:
        verify_generic(request.headers.get("X-Signature"), raw, gateway["secrets"], int(now.timestamp()))
    except SignatureError as error:
        count = record_refusal(db.session, REFUSED, address, window, "inbound_text", provider=provider_name)
        db.session.commit()
        if count == 1 or count % 100 == 0:
            log.warning("refused an SMS webhook from %s (%d this window): %s", address, count, error)
        return jsonify(envelope(401, "Unauthorized", f"Callback refused: {error}.")), 401
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _bad_body('The body is not JSON: send {"message_id", "from", "text"}.')
    if not isinstance(body, dict) or not all(isinstance(body.get(name), str) for name in FIELDS):
        return _bad_body("Send message_id, from and text, each a string.")
    if not body["message_id"].strip() or len(body["message_id"]) > 100 or "\x00" in "".join(body[n] for n in FIELDS):
        return _bad_body("message_id must be 1 to 100 characters, and no field may hold a NUL.")
    stored = store_text(
        db.session,
        provider_name,
        body["message_id"].strip(),
        body["from"],
        body["text"],
        app_now(),  # the app's clock (pinned in tests) dates the row; utcnow() checked the signature
    )
    if stored:
        schedule_text_answers()  # a worker answers it (the cron sweep does, should Redis not answer now)
    return jsonify({"received": True}), 200
