"""Compressed answers: HTML, JSON, CSV, CSS and JavaScript in brotli or gzip, as the client asks (Flask-Compress).

Agents pay for data by the megabyte; a page of HTML is about a sixth of itself in gzip. What is compressed:

- only the types in ``MIMETYPES`` (never PDFs, images or stored files: compressed already);
- only answers of 2xx other than 206 (a range's bytes are counted in the uncompressed file);
- only bodies of ``COMPRESS_MIN_SIZE`` bytes or more (default 500: under one packet, gzip's header costs more
  than it saves);
- a streamed answer (a CSV export made row by row) stays streamed: each chunk goes through one compressor, no
  ``Content-Length``, nothing buffered whole;
- every answer says ``Vary: Accept-Encoding``, compressed or not, so that a cache never hands gzip to a client
  that did not ask for it.

BREACH (a page that reflects the attacker's text and holds a secret, its compressed size watched on the wire):
the pages' secret is the session's CSRF token, and organisation/web_login.py writes it masked with fresh random
bytes on every page, so no two answers carry the same bytes for it and its length says nothing. The session
cookie is SameSite=Lax, so a third-party site cannot make the phone fetch pages with the agent's session in the
background, which the attack needs thousands of times. A receipt's public code (/r/<code>) is the address
itself: whoever can ask for that page knows it already.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_compress import Compress

MIMETYPES = (
    "text/html",
    "application/json",
    "text/csv",
    "text/css",
    "text/javascript",
    "application/javascript",
    "text/plain",
    "image/svg+xml",
)
ALGORITHMS = ("br", "gzip")  # what every phone's browser takes; brotli first, about 15% smaller than gzip
DEFAULTS = {
    "COMPRESS_MIMETYPES": list(MIMETYPES),
    "COMPRESS_ALGORITHM": list(ALGORITHMS),
    "COMPRESS_ALGORITHM_STREAMING": list(ALGORITHMS),
    "COMPRESS_LEVEL": 6,  # gzip
    "COMPRESS_BR_LEVEL": 4,  # brotli: 4 is as fast as gzip 6 and smaller
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_STREAMS": True,
    "COMPRESS_REGISTER": False,  # after_request below decides first, then hands over
}

compress = Compress()


def install(app: Flask) -> None:
    """Compress the app's answers; set COMPRESS_ENABLED = False to turn it off (a proxy in front that does it)."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    if not app.config.setdefault("COMPRESS_ENABLED", True):
        return
    compress.init_app(app)

    @app.after_request
    def compress_answer(response: Response) -> Response:
        if response.status_code == 206:  # Content-Range counts the file's own bytes: sent as they are
            vary = response.headers.get("Vary")
            if not vary or "accept-encoding" not in vary.lower():
                response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
            return response
        body = response.response
        answer = compress.after_request(response)
        if answer.response is not body and hasattr(body, "close"):
            answer.call_on_close(body.close)  # a file's answer read through the compressor: its file is closed too
        return answer
