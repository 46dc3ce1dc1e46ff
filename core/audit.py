"""The append-only audit log: who did what, when, from which device and address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import DbSession, Model


class AuditEvent(Model):
    """One audited action. The database refuses UPDATE and DELETE on this table (see its migration)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)  # no FK: the log outlives what it names
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def origin() -> tuple[str | None, str | None]:
    """The address and device (User-Agent) of the request being served, what every audit event records."""
    if not has_request_context():
        return None, None
    ip = request.remote_addr  # behind a proxy, ProxyFix (PROXY_COUNT) makes this the client's address
    return ip, (request.headers.get("User-Agent") or "")[:255] or None


def record(
    session: DbSession,
    action: str,
    entity_type: str,
    entity_id: object | None,
    actor_user_id: int | None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it commits or rolls back with the change it records)."""
    ip, device = origin()
    event = AuditEvent(
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        actor_user_id=actor_user_id,
        ip=ip,
        device=device,
        details=details,
    )
    session.add(event)
    return event
