"""Reference endpoints a benchmark compares against, mounted only when IURAN_BENCH=1."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import insert

from core.audit import AuditEvent
from core.clock import utcnow
from core.extensions import db

bp = Blueprint("bench", __name__)


@bp.post("/bench/insert")
def bare_insert() -> ResponseReturnValue:
    """One INSERT and a commit, through the same app, session and database as the real endpoints."""
    row_id = db.session.execute(
        insert(AuditEvent)
        .values(at=utcnow(), action="bench.insert", entity_type="bench", details={})
        .returning(AuditEvent.id)
    ).scalar_one()
    db.session.commit()
    return jsonify({"id": row_id}), 201


def register(app: Flask) -> None:
    app.register_blueprint(bp)
