"""The operator's three addresses: /healthz (the process answers), /readyz (it can serve) and /metrics.

None needs a login: a load balancer and Prometheus call them. /metrics wants ``Authorization: Bearer
<METRICS_TOKEN>`` when that is set, and otherwise answers loopback addresses only.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST

from core import health
from core.errors import Forbidden, Unauthorized
from operations.metrics import exposition

bp = Blueprint("operations", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 while the process answers; touches neither the database nor Redis."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 when the database (migrated to the head), Redis, a worker and the cron scheduler answer; else 503."""
    ready, checks = health.readiness()
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:  # a unix socket's peer, or nothing
        return False


def _forwarded_for() -> list[str]:
    """Every address a proxy says it forwards for (X-Forwarded-For, X-Real-IP, Forwarded's for=): a loopback peer
    forwarding for someone else (nginx on this host, PROXY_COUNT not set) is not a caller on this machine."""
    headers = request.headers
    found = [part.strip() for part in headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    found += [headers["X-Real-IP"].strip()] if headers.get("X-Real-IP", "").strip() else []
    for element in headers.get("Forwarded", "").replace(",", ";").split(";"):
        name, _, value = element.strip().partition("=")
        if name.lower() == "for":
            found.append(value.strip().strip('"').removeprefix("[").split("]")[0])
    return found


def check_metrics_access() -> None:
    """The bearer token when METRICS_TOKEN is set (401 otherwise); else a loopback caller (403 otherwise)."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
            raise Unauthorized("Send 'Authorization: Bearer <METRICS_TOKEN>' to read the metrics.")
    elif not _loopback(request.remote_addr) or not all(_loopback(a) for a in _forwarded_for()):
        raise Forbidden("The metrics are served to this machine only; set METRICS_TOKEN to read them from afar.")


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus's text format (see operations/metrics.py)."""
    check_metrics_access()
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
