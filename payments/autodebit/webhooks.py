"""The providers' webhooks: a callback is verified, stored once and processed by a worker."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from core import audit
from core.clock import utcnow
from core.errors import envelope
from core.extensions import db
from payments.autodebit.providers import CallbackError, configured_providers
from payments.autodebit.services import store_webhook_event
from payments.autodebit.signatures import SignatureError
from workers.queues import schedule_webhook_processing

bp = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


@bp.post("/webhooks/<string:provider_name>")
def receive_webhook(provider_name: str) -> ResponseReturnValue:
    """A provider's callback: verify the signature on the raw body, store it once, answer at once.

    Processing happens in a worker (payments.autodebit.services.process_webhook_events), in batches. A forged or
    stale callback is a 401, logged and audited, and never stored.
    """
    providers = configured_providers(current_app.config)
    provider = providers.get(provider_name)
    if provider is None:
        return jsonify(envelope(404, "Not Found", f"No provider called {provider_name!r}.")), 404
    raw = request.get_data(cache=False)
    try:
        provider.verify(dict(request.headers), raw, utcnow())
    except SignatureError as error:
        log.warning("refused a %s callback from %s: %s", provider_name, request.remote_addr, error)
        audit.record(db.session, "webhook.refused", "webhook", None, None, provider=provider_name, why=str(error))
        db.session.commit()
        return jsonify(envelope(401, "Unauthorized", f"Callback refused: {error}.")), 401
    try:
        event = provider.parse(raw)
    except CallbackError as error:
        return jsonify(envelope(400, "Bad Request", f"Callback not understood: {error}.")), 400
    stored = store_webhook_event(db.session, provider_name, event, raw.decode())
    if stored:
        schedule_webhook_processing()
    return jsonify({"received": True, "duplicate": not stored}), 200
