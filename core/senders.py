"""The outbox's senders, chosen by ``OUTBOX_SENDER``: ``log`` (the default) and ``http``, a generic SMS or
WhatsApp gateway that takes one JSON POST per text.

The HTTP sender fills the body template (``OUTBOX_GATEWAY_BODY``) after parsing it, so a text's quotes and line
breaks are escaped as JSON; it sends the text's idempotency key as ``Idempotency-Key`` (a gateway that dedupes
absorbs a text sent twice: a timeout after the gateway took it, a worker killed before it marked the text sent).
Within one delivery it tries again, with exponential backoff and jitter, after a connection error, a timeout,
408, 429 (waiting its Retry-After, up to RETRY_AFTER_CAP_SECONDS) and 5xx. Any other 4xx refuses the text for
good, except 401, 403, 404 and 407: those say the gateway's settings are wrong, not the text, so the text waits
for a later delivery like after any failure (core/outbox.py ``deliver_pending``).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from core.outbox import LogSender, OutgoingText, Sender, SendFailed

DEFAULT_BODY = '{"to": "{recipient}", "text": "{body}", "reference": "{message_id}"}'
PLACEHOLDER = re.compile(r"\{(recipient|body|message_id)\}")
BACKOFF_SECONDS = 0.5  # the first wait before trying again; doubled each time, with jitter
BACKOFF_CAP_SECONDS = 8.0
RETRY_AFTER_CAP_SECONDS = 10.0  # a longer Retry-After ends the delivery; the text waits that long for the next
SETUP_ERRORS = frozenset({401, 403, 404, 407})  # the gateway's address or credentials are wrong, not the text
RETRIED = frozenset({408, 429})
USER_AGENT = "iuran-outbox/1"


class HttpSender:
    """Posts each text to a gateway's URL as JSON; see the module's docstring for retries."""

    name = "http"

    def __init__(
        self,
        url: str,
        body_template: str = DEFAULT_BODY,
        *,
        token: str = "",
        user: str = "",
        password: str = "",
        timeout: float = 10.0,
        retries: int = 3,
        budget_seconds: float = 90.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"OUTBOX_GATEWAY_URL must be an http:// or https:// address, not {url!r}")
        try:
            self.template = json.loads(body_template)
        except ValueError as error:
            raise ValueError(f"OUTBOX_GATEWAY_BODY is not JSON: {error}") from None
        found = set(PLACEHOLDER.findall(json.dumps(self.template)))
        if not {"recipient", "body"} <= found:
            raise ValueError("OUTBOX_GATEWAY_BODY must hold {recipient} and {body} in its strings")
        if retries < 0 or timeout <= 0:
            raise ValueError("OUTBOX_GATEWAY_RETRIES must be 0 or more and OUTBOX_GATEWAY_TIMEOUT_SECONDS above 0")
        self.url = url
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user or password:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {pair}"
        self.timeout = timeout
        self.retries = retries
        self.budget_seconds = budget_seconds  # a retry that could end past it is left to the next delivery
        self.sleep = sleep
        self.jitter = jitter

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HttpSender:
        return cls(
            config["OUTBOX_GATEWAY_URL"],
            config["OUTBOX_GATEWAY_BODY"],
            token=config["OUTBOX_GATEWAY_TOKEN"],
            user=config["OUTBOX_GATEWAY_USER"],
            password=config["OUTBOX_GATEWAY_PASSWORD"],
            timeout=config["OUTBOX_GATEWAY_TIMEOUT_SECONDS"],
            retries=config["OUTBOX_GATEWAY_RETRIES"],
            # the claim on the text must outlast the send, or another delivery could send it meanwhile
            budget_seconds=0.75 * config["OUTBOX_CLAIM_SECONDS"],
        )

    def body(self, text: OutgoingText) -> bytes:
        """The template with the text's values filled into its strings (JSON-escaped by the encoder)."""
        values = {"recipient": text.recipient, "body": text.body, "message_id": str(text.id)}
        return json.dumps(_fill(self.template, values), ensure_ascii=False).encode()

    def send(self, text: OutgoingText) -> None:
        data = self.body(text)
        headers = {**self.headers, "Idempotency-Key": text.idempotency_key}
        started = time.monotonic()
        for attempt in range(self.retries + 1):
            failure, again = self._post(data, headers)
            if failure is None:
                return
            if not again or attempt == self.retries:
                raise failure
            wait = failure.retry_after if failure.retry_after is not None else self.backoff(attempt)
            if wait > RETRY_AFTER_CAP_SECONDS:
                raise failure  # the gateway asks for a long pause: the text waits for a later delivery
            if time.monotonic() - started + wait + self.timeout > self.budget_seconds:
                raise failure  # the claim on the text would run out before this try ends
            self.sleep(wait)

    def backoff(self, attempt: int) -> float:
        """The wait after try ``attempt`` (0 first): half of 0.5·2^attempt s (at most 8 s) and a random rest."""
        ceiling = min(BACKOFF_SECONDS * 2**attempt, BACKOFF_CAP_SECONDS)
        return ceiling / 2 + self.jitter() * ceiling / 2

    def _post(self, data: bytes, headers: dict[str, str]) -> tuple[SendFailed | None, bool]:
        """One request: (None, _) when the gateway took the text, else the failure and whether to try again now."""
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            # A 2xx status is the gateway's answer: its body is not read (a huge or endless one would time out,
            # and a text the gateway took would count as not sent and go again).
            with urllib.request.urlopen(request, timeout=self.timeout):
                pass
            return None, False
        except urllib.error.HTTPError as error:
            with error:
                status, detail = error.code, _snippet(error)
                retry_after = _retry_after(error.headers.get("Retry-After")) if status in (429, 503) else None
            message = f"gateway answered {status}: {detail}"[:255] if detail else f"gateway answered {status}"
            if status in SETUP_ERRORS:
                return SendFailed(message + " (check OUTBOX_GATEWAY_URL and its credentials)"), False
            if 400 <= status < 500 and status not in RETRIED:
                return SendFailed(message, permanent=True), False
            return SendFailed(message, retry_after=retry_after), True
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            return SendFailed(f"gateway unreachable: {type(reason).__name__}: {reason}"[:255]), True


def _fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], node)
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
    return node


def _snippet(error: urllib.error.HTTPError) -> str:
    try:
        raw = error.read(200)
    except (OSError, http.client.HTTPException):
        return ""
    return raw.decode("utf-8", "replace").strip()


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from its seconds or its HTTP date form; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


SENDERS: dict[str, Callable[[Mapping[str, Any]], Sender]] = {
    "log": lambda config: LogSender(),
    "http": HttpSender.from_config,
}


def configured_sender(config: Mapping[str, Any]) -> Sender:
    """The sender ``OUTBOX_SENDER`` names, built from the settings (a ValueError names a wrong one)."""
    name = config["OUTBOX_SENDER"]
    if name not in SENDERS:
        raise ValueError(f"OUTBOX_SENDER={name!r} is not a sender; expected one of {', '.join(sorted(SENDERS))}")
    return SENDERS[name](config)
