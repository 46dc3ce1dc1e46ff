"""Configuration from the environment: one place for every setting and its default."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("IURAN_INSTANCE", ROOT / "instance"))

# IURAN_ENV: "development" (the default: `make run`, the tests) or "production", where check() refuses to start a
# process (web, worker, cron, CLI) with any setting that is only fit for a developer's machine.
ENVIRONMENTS = ("development", "production")
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me"
MIN_SECRET_KEY_LENGTH = 32
# A random key of 32+ characters has far more distinct ones than this; 32 spaces or "a" * 40 has one.
MIN_SECRET_KEY_DISTINCT = 10
# The payment providers' development secrets (payment_providers below): known to anyone who reads this file, so a
# callback signed with one would be believed. MIDTRANS_SERVER_KEY, SANDBOX_WEBHOOK_SECRET and SANDBOX_API_KEY
# replace them; production refuses to start without.
DEVELOPMENT_MIDTRANS_SERVER_KEY = "SB-Mid-server-dev-only"
DEVELOPMENT_SANDBOX_SECRET = "sandbox-dev-secret"
DEVELOPMENT_SANDBOX_API_KEY = "sandbox-api-key"
DEVELOPMENT_SMS_INBOUND_SECRET = "sms-inbound-dev-secret"

log = logging.getLogger(__name__)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE / 'iuran.db'}"
    # Heroku-style and plain postgres URLs both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _default_redis_url() -> str:
    return f"unix://{INSTANCE / 'redis.sock'}"


def _public_base_url(environment: str) -> str:
    """Where members open their receipts (the text's link): PUBLIC_BASE_URL; on a developer's machine the
    address `make run` serves (PORT, 5000 by default); in production no default (check() asks for it)."""
    url = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if url or environment == "production":
        return url
    return f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"


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
            "server_keys": _keys("MIDTRANS_SERVER_KEY", "MIDTRANS_SERVER_KEY_PREVIOUS")
            or [DEVELOPMENT_MIDTRANS_SERVER_KEY],
        },
        "sandbox": {
            "scheme": "signed",
            "base_url": os.environ.get("SANDBOX_PROVIDER_URL", "http://127.0.0.1:5078"),
            "api_key": os.environ.get("SANDBOX_API_KEY", DEVELOPMENT_SANDBOX_API_KEY),
            "secrets": _keys("SANDBOX_WEBHOOK_SECRET", "SANDBOX_WEBHOOK_SECRET_PREVIOUS")
            or [DEVELOPMENT_SANDBOX_SECRET],
        },
    }


def sms_inbound_providers(environment: str) -> dict[str, dict[str, Any]]:
    """The SMS gateway whose inbound texts (CEK <KPJ>) /webhooks/sms/gateway takes, signed with the generic
    X-Signature header (payments/autodebit/signatures.py) and SMS_INBOUND_SECRET (SMS_INBOUND_SECRET_PREVIOUS too
    during a rotation). Without the secret, production takes no inbound texts (404); development uses a known one."""
    secrets = _keys("SMS_INBOUND_SECRET", "SMS_INBOUND_SECRET_PREVIOUS")
    if not secrets and environment != "production":
        secrets = [DEVELOPMENT_SMS_INBOUND_SECRET]
    return {"gateway": {"secrets": secrets}} if secrets else {}


def from_environment() -> dict[str, Any]:
    """The settings a process gets from its environment (the web app, RQ workers and the CLI alike)."""
    environment = os.environ.get("IURAN_ENV", "development").strip() or "development"
    return {
        # "development" or "production" (see check(): what production refuses to start with).
        "IURAN_ENV": environment,
        # Signs the session cookie and the forms' key_owner: in production at least 32 characters, never the default.
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY),
        # Unset: SQLite in the instance folder, on a developer's machine only (production refuses it).
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        # Unset: the socket of the private Redis `make run` starts (production refuses it).
        "REDIS_URL": os.environ.get("REDIS_URL", _default_redis_url()),
        # The address members reach the site at, without a trailing slash: texts carry PUBLIC_BASE_URL/r/<code>.
        "PUBLIC_BASE_URL": _public_base_url(environment).rstrip("/"),
        # Seconds the web app waits on Redis (throttles, waking workers) before it carries on without it.
        "REDIS_SOCKET_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", 0.5)),
        # Retry-After (seconds) of the 503 answered while the database cannot be reached.
        "DATABASE_RETRY_AFTER_SECONDS": int(os.environ.get("DATABASE_RETRY_AFTER_SECONDS", 5)),
        # API bearer tokens live this long (seconds).
        "API_TOKEN_TTL_SECONDS": int(os.environ.get("API_TOKEN_TTL_SECONDS", 12 * 3600)),
        # A verified API token is kept this long per process (organisation/token_cache.py): a revoked token or a
        # deactivated user is refused within it by the other processes (at once by the one that made the change).
        "TOKEN_CACHE_SECONDS": float(os.environ.get("TOKEN_CACHE_SECONDS", 5)),
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
        # Reference endpoints for benchmarks (bench/endpoints.py); production refuses to start with them.
        "BENCH_ENDPOINTS": os.environ.get("IURAN_BENCH", "0") == "1",
        "PAYMENT_PROVIDERS": payment_providers(),
        "SMS_INBOUND_PROVIDERS": sms_inbound_providers(environment),
        # CEK texts answered in any 24 hours (payments/selfpay/enquiries.py), besides a member's 3 a day: per sending
        # phone, over every KPJ it asks about, and per gateway in all; past either, the text is stored as 'limited'
        # and no answer is sent. Inbound texts are kept INBOUND_TEXTS_KEEP_DAYS days (at least the 24 hours counted).
        "CEK_ANSWERS_PER_SENDER": int(os.environ.get("CEK_ANSWERS_PER_SENDER", 5)),
        "CEK_ANSWERS_PER_GATEWAY": int(os.environ.get("CEK_ANSWERS_PER_GATEWAY", 1000)),
        "INBOUND_TEXTS_KEEP_DAYS": int(os.environ.get("INBOUND_TEXTS_KEEP_DAYS", 90)),
        "RECEIPT_LOOKUPS_PER_MINUTE": int(os.environ.get("RECEIPT_LOOKUPS_PER_MINUTE", 30)),
        # Refused (forged, stale) provider callbacks allowed per address in WEBHOOK_REFUSAL_WINDOW_SECONDS; past it,
        # callbacks from that address are answered 429 with Retry-After before their signature is checked. Another
        # address, the provider's, is not held back by them.
        "WEBHOOK_REFUSALS_PER_ADDRESS": int(os.environ.get("WEBHOOK_REFUSALS_PER_ADDRESS", 60)),
        "WEBHOOK_REFUSAL_WINDOW_SECONDS": int(os.environ.get("WEBHOOK_REFUSAL_WINDOW_SECONDS", 900)),
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


class Misconfigured(RuntimeError):
    """The settings are unfit for this environment; the message lists every problem and its fix.

    A RuntimeError, not SystemExit: gunicorn halts on a worker that fails to boot, but would start again and
    again a worker that exits.
    """


def problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``config`` for its IURAN_ENV, one line per setting that must change (empty: fine)."""
    environment = config.get("IURAN_ENV", "development")
    if environment not in ENVIRONMENTS:
        return [f"IURAN_ENV={environment!r}: use 'development' (the default) or 'production'"]
    if environment != "production":
        return []
    found: list[str] = []
    secret = str(config.get("SECRET_KEY") or "")
    if secret == DEVELOPMENT_SECRET_KEY:
        found.append("SECRET_KEY: not set (the development default); set a random one of 32+ characters")
    elif len(secret.strip()) < MIN_SECRET_KEY_LENGTH:
        found.append(f"SECRET_KEY: {len(secret.strip())} characters; use a random one of {MIN_SECRET_KEY_LENGTH}+")
    elif len(set(secret.strip())) < MIN_SECRET_KEY_DISTINCT:
        found.append(
            f"SECRET_KEY: {len(set(secret.strip()))} different characters, easily guessed; use a random one of "
            f"{MIN_SECRET_KEY_LENGTH}+"
        )
    database = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if not database or database.startswith("sqlite"):
        found.append(
            "DATABASE_URL: not set (or SQLite, one file on one host); set postgresql://user@host/iuran, the one "
            "database every process shares"
        )
    if config.get("REDIS_URL") in (None, "", _default_redis_url()):
        found.append("REDIS_URL: not set; set redis://host:6379/0, the one Redis every process shares")
    base = str(config.get("PUBLIC_BASE_URL") or "")
    parts = urlsplit(base)
    if not base:
        found.append("PUBLIC_BASE_URL: not set; set the address members open receipts at (https://iuran.example.id)")
    elif parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        found.append(f"PUBLIC_BASE_URL={base!r}: give an http(s) address with a host, e.g. https://iuran.example.id")
    if not config.get("SESSION_COOKIE_SECURE"):
        found.append("SESSION_COOKIE_SECURE=0: session cookies must be Secure in production; remove it (serve HTTPS)")
    if not config.get("SESSION_COOKIE_HTTPONLY"):
        found.append("SESSION_COOKIE_HTTPONLY: session cookies must be HttpOnly in production")
    if config.get("BENCH_ENDPOINTS"):
        found.append("IURAN_BENCH=1: the benchmark endpoints must not run in production; remove it")
    if config.get("DEBUG"):
        found.append("FLASK_DEBUG: the debugger runs any code it is sent; turn it off in production")
    if config.get("OUTBOX_SENDER") == "http" and not urlsplit(str(config.get("OUTBOX_GATEWAY_URL") or "")).netloc:
        found.append("OUTBOX_GATEWAY_URL: not an address; OUTBOX_SENDER=http sends texts to it (https://gateway/…)")
    providers = config.get("PAYMENT_PROVIDERS") or {}
    midtrans = providers.get("midtrans") or {}
    if DEVELOPMENT_MIDTRANS_SERVER_KEY in midtrans.get("server_keys", ()):
        found.append("MIDTRANS_SERVER_KEY: not set (the development key); set the server key Midtrans gave you")
    sandbox = providers.get("sandbox") or {}
    if DEVELOPMENT_SANDBOX_SECRET in sandbox.get("secrets", ()):
        found.append("SANDBOX_WEBHOOK_SECRET: not set (the development secret); set the provider's webhook secret")
    if sandbox.get("api_key") == DEVELOPMENT_SANDBOX_API_KEY:
        found.append("SANDBOX_API_KEY: not set (the development key); set the provider's API key")
    return found


_warned_default_secret = False


def check(config: Mapping[str, Any]) -> None:
    """Refuse to start with settings unfit for IURAN_ENV, naming every problem at once (:class:`Misconfigured`).

    create_app calls it after its overrides, so the web app, workers, cron and the CLI all refuse alike. In
    development the default SECRET_KEY is allowed, with one warning in the log.
    """
    found = problems(config)
    if found:
        environment = config.get("IURAN_ENV", "development")
        lines = "\n".join(f"  - {problem}" for problem in found)
        raise Misconfigured(f"iuran will not start (IURAN_ENV={environment}): fix these settings:\n{lines}")
    global _warned_default_secret
    if config.get("SECRET_KEY") == DEVELOPMENT_SECRET_KEY and not _warned_default_secret:
        _warned_default_secret = True
        log.warning("SECRET_KEY is the development default: anyone can forge a login; never use it beyond this machine")
