"""The HTTP surface outside the JSON API: the public receipt page ``/r/<code>`` (no login, the payment and
nothing else about the member) and the providers' webhooks."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from core import audit, ratelimit
from core.clock import utcnow
from core.errors import envelope
from core.extensions import db
from core.i18n import t
from payments.autodebit.providers import CallbackError, configured_providers
from payments.autodebit.services import store_webhook_event
from payments.autodebit.signatures import SignatureError
from payments.ledger.receipts import CODE_ALPHABET, CODE_LENGTH, mask_name
from payments.ledger.services import receipt_by_code
from workers.queues import schedule_webhook_processing

log = logging.getLogger(__name__)

bp = Blueprint("public_receipt", __name__, template_folder="templates")

_CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


@bp.get("/r/<string:code>")
def show(code: str) -> ResponseReturnValue:
    """Amount, months, date and whether the cash reached the bank; a masked name; rate-limited per address."""
    per_minute = current_app.config["RECEIPT_LOOKUPS_PER_MINUTE"]
    if not ratelimit.allow(f"receipt:{request.remote_addr}", per_minute, 60):
        return render_template("public_receipt.html", receipt=None, message=t("too_many_lookups")), 429
    code = code.strip().upper()
    receipt = receipt_by_code(db.session, code) if _CODE.match(code) else None
    if receipt is None:
        return render_template("public_receipt.html", receipt=None, message=t("public_receipt_unknown")), 404
    response = current_app.make_response(
        render_template("public_receipt.html", receipt=receipt, masked_name=mask_name(receipt.member_name))
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


webhooks = Blueprint("webhooks", __name__)


@webhooks.post("/webhooks/<string:provider_name>")
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
