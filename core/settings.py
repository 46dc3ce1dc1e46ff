"""Configuration from the environment: one place for every setting and its default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("IURAN_INSTANCE", ROOT / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE / 'iuran.db'}"
    # Heroku-style and plain postgres URLs both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _keys(*names: str) -> list[str]:
    """The non-empty values of some variables: a current secret and, during rotation, the previous one."""
    return [value for value in (os.environ.get(name, "") for name in names) if value]


def payment_providers() -> dict[str, dict[str, Any]]:
    """The auto-debit providers. Each points at a local sandbox (payments/autodebit/sandbox.py) unless told otherwise:
    one speaking Midtrans's scheme on port 5077, one the generic signed scheme on port 5078."""
    return {
        "midtrans": {
            "scheme": "midtrans",
            "base_url": os.environ.get("MIDTRANS_BASE_URL", "http://127.0.0.1:5077"),
            "server_keys": _keys("MIDTRANS_SERVER_KEY", "MIDTRANS_SERVER_KEY_PREVIOUS") or ["SB-Mid-server-dev-only"],
        },
        "sandbox": {
            "scheme": "signed",
            "base_url": os.environ.get("SANDBOX_PROVIDER_URL", "http://127.0.0.1:5078"),
            "api_key": os.environ.get("SANDBOX_API_KEY", "sandbox-api-key"),
            "secrets": _keys("SANDBOX_WEBHOOK_SECRET", "SANDBOX_WEBHOOK_SECRET_PREVIOUS") or ["sandbox-dev-secret"],
        },
    }


def from_environment() -> dict[str, Any]:
    """The settings a process gets from its environment (the web app, RQ workers and the CLI alike)."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-secret-change-me"),
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", f"unix://{INSTANCE / 'redis.sock'}"),
        # Seconds the web app waits on Redis (throttles, waking workers) before it carries on without it.
        "REDIS_SOCKET_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", 0.5)),
        # Retry-After (seconds) of the 503 answered while the database cannot be reached.
        "DATABASE_RETRY_AFTER_SECONDS": int(os.environ.get("DATABASE_RETRY_AFTER_SECONDS", 5)),
        # API bearer tokens live this long (seconds).
        "API_TOKEN_TTL_SECONDS": int(os.environ.get("API_TOKEN_TTL_SECONDS", 12 * 3600)),
        "API_TITLE": "iuran",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/swagger-ui/",
        "API_SPEC_OPTIONS": {
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
        "JSON_SORT_KEYS": False,
        # Reverse proxies in front of the app; their X-Forwarded-For/-Proto headers are trusted only then.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", 0)),
        # How texts leave the outbox (core/senders.py): "log" writes them to the log; "http" posts each to an SMS or
        # WhatsApp gateway with the OUTBOX_GATEWAY_* settings below.
        "OUTBOX_SENDER": os.environ.get("OUTBOX_SENDER", "log"),
        # The gateway's address, and its credentials: a token sent as a bearer, or a user and password (basic auth).
        "OUTBOX_GATEWAY_URL": os.environ.get("OUTBOX_GATEWAY_URL", ""),
        "OUTBOX_GATEWAY_TOKEN": os.environ.get("OUTBOX_GATEWAY_TOKEN", ""),
        "OUTBOX_GATEWAY_USER": os.environ.get("OUTBOX_GATEWAY_USER", ""),
        "OUTBOX_GATEWAY_PASSWORD": os.environ.get("OUTBOX_GATEWAY_PASSWORD", ""),
        # The JSON body of each request; {recipient}, {body} and {message_id} inside its strings are filled in.
        "OUTBOX_GATEWAY_BODY": os.environ.get(
            "OUTBOX_GATEWAY_BODY", '{"to": "{recipient}", "text": "{body}", "reference": "{message_id}"}'
        ),
        # Seconds to wait on each request, and how many more requests a text gets within one delivery after a
        # connection error, a timeout, 408, 429 or 5xx (with backoff); then it waits for a later delivery.
        "OUTBOX_GATEWAY_TIMEOUT_SECONDS": float(os.environ.get("OUTBOX_GATEWAY_TIMEOUT_SECONDS", 10)),
        "OUTBOX_GATEWAY_RETRIES": int(os.environ.get("OUTBOX_GATEWAY_RETRIES", 3)),
        # How long a delivery's claim on a text lasts (core/outbox.py): a delivery that died holding it (a killed
        # worker, the database gone between claim and send) leaves the text to the next delivery after this. The HTTP
        # sender stops retrying a text at three quarters of it, so a slow gateway never outlives the claim.
        "OUTBOX_CLAIM_SECONDS": int(os.environ.get("OUTBOX_CLAIM_SECONDS", 120)),
        # Web sessions of the agents' app.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure by default: the cookie only travels over HTTPS (and to http://localhost, which browsers
        # treat as secure). `make run` turns it off for a phone trying the app over the LAN.
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "1") == "1",
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("WEB_SESSION_SECONDS", 14 * 24 * 3600)),
        # Failed logins allowed in LOGIN_WINDOW_SECONDS per username and address (an IPv6 address's /64), per
        # address whatever the username, and per username whatever the address; receipt lookups per minute.
        "LOGIN_ATTEMPTS": int(os.environ.get("LOGIN_ATTEMPTS", 5)),
        "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", 20)),
        "LOGIN_FAILURES_PER_USERNAME": int(os.environ.get("LOGIN_FAILURES_PER_USERNAME", 30)),
        "LOGIN_WINDOW_SECONDS": int(os.environ.get("LOGIN_WINDOW_SECONDS", 900)),
        # Reference endpoints for benchmarks (bench/endpoints.py); never on in production.
        "BENCH_ENDPOINTS": os.environ.get("IURAN_BENCH", "0") == "1",
        "PAYMENT_PROVIDERS": payment_providers(),
        "RECEIPT_LOOKUPS_PER_MINUTE": int(os.environ.get("RECEIPT_LOOKUPS_PER_MINUTE", 30)),
        # A provider's settlement report up to this size is imported within the request; a larger one is kept in
        # the database and imported by a worker (202, then poll its Location). 1 MB is about 15,000 lines.
        "SETTLEMENT_INLINE_BYTES": int(os.environ.get("SETTLEMENT_INLINE_BYTES", 1_000_000)),
        # Where each branch's remittance files are written for the national system's pick-up (<dir>/<branch code>/):
        # an export, not something web and workers share (the files are in the database); on several worker hosts,
        # one folder that all of them reach (a mount the pick-up reads).
        "REMITTANCE_PICKUP_DIR": os.environ.get("REMITTANCE_PICKUP_DIR", str(INSTANCE / "remittance")),
        # A bank statement of more lines than this is imported by a worker (202, progress to poll), not in the request.
        "STATEMENT_INLINE_LINES": int(os.environ.get("STATEMENT_INLINE_LINES", 5000)),
        # Logs (core/logs.py): "json" lines on stdout in production, readable "text" lines elsewhere.
        "LOG_FORMAT": os.environ.get(
            "LOG_FORMAT", "json" if os.environ.get("IURAN_ENV") == "production" else "text"
        ).lower(),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        # Error reports to Sentry (or a compatible server) when set; nothing leaves the machine otherwise.
        "SENTRY_DSN": os.environ.get("SENTRY_DSN", ""),
        # /readyz (core/health.py) answers 503 unless a worker's heartbeat and the cron scheduler's are recent;
        # set 0 on a host that runs the web app only and is judged ready without them.
        "READY_REQUIRES_WORKER": os.environ.get("READY_REQUIRES_WORKER", "1") == "1",
        "READY_REQUIRES_CRON": os.environ.get("READY_REQUIRES_CRON", "1") == "1",
        # /metrics wants "Authorization: Bearer <METRICS_TOKEN>" when set; without it, only loopback may read it.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # A scrape reads the database and Redis at most this often per process (several Prometheus servers).
        "METRICS_CACHE_SECONDS": float(os.environ.get("METRICS_CACHE_SECONDS", 10)),
    }
