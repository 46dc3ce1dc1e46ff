"""Error reports, when SENTRY_DSN is set: sent to the server the DSN names (a local stand-in here), masked."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import brotli
import pytest
import sentry_sdk

from app import create_app
from core import logs
from core.extensions import db
from tests.factories import PASSWORD, nik_for


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":  # what sentry-sdk sends once brotli is installed (Flask-Compress brings it)
            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, list[bytes]]]:
    """A stand-in for Sentry on loopback: it keeps every envelope it is sent."""
    received: ClassVar[list[bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://public@127.0.0.1:{server.server_address[1]}/1", received
    finally:
        logs.configure({})  # no DSN: the client closes
        server.shutdown()
        server.server_close()


def test_an_unexpected_error_is_reported_with_its_type_and_without_a_nik_or_password(sentry_server, tmp_path):
    dsn, received = sentry_server
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/iuran.db",
            "SECRET_KEY": "test",
            "SENTRY_DSN": dsn,
            "IURAN_ENV": "development",
        }
    )
    nik = nik_for(serial=91)

    @app.post("/test-boom")
    def boom() -> str:
        password = PASSWORD  # a local variable Sentry would show with the frame
        raise LookupError(f"member {nik} not found with password={password}")

    response = app.test_client().post("/test-boom", data={"nik": nik, "password": PASSWORD})
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    sent = b"".join(received).decode("utf-8", "replace")
    assert "LookupError" in sent
    assert '"environment":"development"' in sent.replace(" ", "")
    assert nik not in sent and PASSWORD not in sent
    assert nik[:6] + "**********" in sent


def test_a_nik_or_phone_in_the_query_string_is_masked_however_it_is_written(sentry_server, tmp_path):
    """Sentry reports the request's query string as the browser encoded it: a NIK searched with spaces (``+`` or
    ``%20``) and a phone's ``+`` (``%2B``) went out whole."""
    dsn, received = sentry_server
    database = f"sqlite:///{tmp_path}/iuran.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "t", "SENTRY_DSN": dsn})

    @app.get("/test-boom")
    def boom() -> str:
        raise LookupError("no such member")

    query = "nik=3201+0112+3456+0001&nik2=3201%200112%203456%200002&phone=%2B62+812-3456-7890&phone2=%2B6281234567891"
    assert app.test_client().get(f"/test-boom?{query}").status_code == 500
    sentry_sdk.flush(timeout=5)

    sent = b"".join(received).decode("utf-8", "replace")
    assert "LookupError" in sent
    for written in ("3201+0112+3456+0001", "3201%200112%203456%200002", "812-3456-7890", "6281234567891"):
        assert written not in sent
    assert "nik=320101**********&nik2=320101**********&phone=+6281******890&phone2=+6281******891" in sent


def test_without_a_dsn_nothing_is_sent(sentry_server, tmp_path):
    _, received = sentry_server
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/iuran.db", "SECRET_KEY": "t"})

    @app.get("/test-boom")
    def boom() -> str:
        raise LookupError("nobody listens")

    assert app.test_client().get("/test-boom").status_code == 500
    sentry_sdk.flush(timeout=1)
    assert received == []


def test_error_reporting_hangs_nothing_on_the_database_engines(sentry_server, tmp_path):
    """sentry-sdk's SQLAlchemy integration, on by default, listens to every engine's cursor for good: its listener
    failed on the context the recording of cash gave it (every contribution a 500 once a DSN was set), and it sends
    statement texts as breadcrumbs. It is left out."""
    dsn, _ = sentry_server
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/iuran.db", "SECRET_KEY": "test",
         "SENTRY_DSN": dsn}
    )  # fmt: skip

    with app.app_context():
        assert sentry_sdk.get_client().is_active()
        assert not db.engine.dispatch.before_cursor_execute and not db.engine.dispatch.after_cursor_execute
