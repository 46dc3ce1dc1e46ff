"""The providers' webhooks: a callback is verified, stored once and processed by a worker."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from core.clock import utcnow
from core.errors import envelope
from core.extensions import db
from core.refusals import record_refusal, refusals
from core.refusals import seconds_left as refusal_seconds_left
from organisation.logins import address_network
from payments.autodebit.providers import CallbackError, configured_providers
from payments.autodebit.services import store_webhook_event
from payments.autodebit.signatures import SignatureError
from workers.queues import schedule_webhook_processing

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)
REFUSED = "webhook.refused"  # the audit action, and the refusals' counter per address


@bp.post("/webhooks/<string:provider_name>")
def receive_webhook(provider_name: str) -> ResponseReturnValue:
    """A provider's callback: verify the signature on the raw body, store it once, answer at once.

    Processing happens in a worker (payments.autodebit.services.process_webhook_events), in batches. A forged or
    stale callback is a 401, logged, audited in aggregate (core/refusals.py) and never stored. An address that has
    sent WEBHOOK_REFUSALS_PER_ADDRESS refused callbacks in the window gets 429 with Retry-After, before anything
    is verified, until the window ends; only refusals count, so the provider's own address is not held back.
    """
    providers = configured_providers(current_app.config)
    provider = providers.get(provider_name)
    if provider is None:
        return jsonify(envelope(404, "Not Found", f"No provider called {provider_name!r}.")), 404
    address = address_network(request.remote_addr)
    window = current_app.config["WEBHOOK_REFUSAL_WINDOW_SECONDS"]
    if refusals(REFUSED, address, window) >= current_app.config["WEBHOOK_REFUSALS_PER_ADDRESS"]:
        why = "too many refused callbacks from this address"
        record_refusal(db.session, REFUSED, address, window, "webhook", provider=provider_name, why=why)
        db.session.commit()
        wait = refusal_seconds_left(REFUSED, address, window)
        message = f"Too many refused callbacks from this address: send again in {wait} seconds."
        return jsonify(envelope(429, "Too Many Requests", message)), 429, {"Retry-After": str(wait)}
    raw = request.get_data(cache=False)
    try:
        provider.verify(dict(request.headers), raw, utcnow())
    except SignatureError as error:
        count = record_refusal(db.session, REFUSED, address, window, "webhook", provider=provider_name, why=str(error))
        db.session.commit()
        if count == 1 or count % 100 == 0:  # the log, like the audit, is not flooded by a flood
            log.warning("refused a %s callback from %s (%d this window): %s", provider_name, address, count, error)
        return jsonify(envelope(401, "Unauthorized", f"Callback refused: {error}.")), 401
    try:
        event = provider.parse(raw)
    except CallbackError as error:
        return jsonify(envelope(400, "Bad Request", f"Callback not understood: {error}.")), 400
    stored = store_webhook_event(db.session, provider_name, event, raw.decode())
    if stored:
        schedule_webhook_processing()
    return jsonify({"received": True, "duplicate": not stored}), 200
