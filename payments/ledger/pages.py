"""The public receipt page ``/r/<code>``: no login, the payment and nothing else about the member."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core import logs, ratelimit
from core.extensions import db
from payments.ledger.receipts import CODE_ALPHABET, CODE_LENGTH, mask_name
from payments.ledger.services import receipt_by_code

log = logging.getLogger(__name__)
bp = Blueprint("public_receipt", __name__, template_folder="templates")
_CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


@bp.get("/r/<string:code>")
def show(code: str) -> ResponseReturnValue:
    """Amount, months, date and whether the cash reached the bank; a masked name; rate-limited per address."""
    logs.hide_path()  # the code opens the receipt: it stays out of the access log
    per_minute = current_app.config["RECEIPT_LOOKUPS_PER_MINUTE"]
    key = f"receipt:{request.remote_addr}"
    if not ratelimit.allow(key, per_minute, 60):
        page = render_template(
            "public_receipt.html", receipt=None, message=gettext("Too many requests. Try again shortly.")
        )
        return page, 429, {"Retry-After": str(ratelimit.seconds_left(key, 60))}  # what is left of the minute
    code = code.strip().upper()
    receipt = receipt_by_code(db.session, code) if _CODE.match(code) else None
    if receipt is None:
        return render_template(
            "public_receipt.html",
            receipt=None,
            message=gettext("Unknown code. Check the code on the text or the receipt."),
        ), 404
    response = current_app.make_response(
        render_template("public_receipt.html", receipt=receipt, masked_name=mask_name(receipt.member_name))
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
