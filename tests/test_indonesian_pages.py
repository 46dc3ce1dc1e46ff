"""Every Indonesian page of the agents' app, of finance's desk and of the admin desk, walked from its menu over the
demo data, holds no English: no page text, no message a service worded, no stored code shown raw.

The walk follows every link of a page that stays in the app (``/agen/…`` or ``/keuangan/…``), a few of each kind
(a member, a day, an agent…), and reads the text a person sees: the text between tags, the labels in attributes,
and the texts the page hands its script. English is told by its common words that Indonesian never uses
(``the``, ``of``, ``is``…) and by codes such as ``in_arrears`` shown as stored.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest

from commands.demo import DEMO_PASSWORD

pytestmark = pytest.mark.sqlite_only

ENGLISH = re.compile(
    r"\b(the|of|is|are|was|were|and|your|you|with|this|that|has|have|been|will|from|which|must|cannot|"
    r"not yet|due|owes?|paid|month|months|day|days|deposit|deposited|agent|agents|member|members|cash|"
    r"returned|approved|pending|none|yet)\b",
    re.IGNORECASE,
)
RAW_CODE = re.compile(r"[a-z]+(_[a-z]+)+")  # a piece that is only a stored code: in_arrears, missing_deposit…
LOGIN_NAME = re.compile(r"\b[a-z]+\.[a-z]+\d*\b")  # agent.pkp1: a staff member's login, data and not words
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "value")
PAGES_OF_A_KIND = 3  # /agen/peserta/12 and /agen/peserta/13 are one kind of page
MAX_PAGES = 80


class Text(HTMLParser):
    """The text a person reads on a page, piece by piece."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("style", "script"):
            self._skip += 1
            self._json = found.get("type") == "application/json"
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if tag == "input" and found.get("type") in ("hidden", "text", "number", "date", "month", "search", None):
            found.pop("value", None)  # a form's values are data (dates, amounts, tokens), not words
        if tag == "option":
            found.pop("value", None)  # what a choice sends (a stored code, ``deposit``): the reader sees its text
        self.pieces += [found[a] or "" for a in ATTRIBUTES if found.get(a)]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
            self._json = False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.pieces += re.findall(r'"(?:[^"\\]|\\.)*"', data)  # the texts a script shows (JSON strings)
        elif not self._skip and data.strip():
            self.pieces.append(data.strip())


def log_in(client: Any, path: str, username: str) -> None:
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(path, data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:300]


def kind(path: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(path).path)


def walk(client: Any, start: list[str], prefix: str) -> dict[str, list[str]]:
    """Every page reached from ``start`` within ``prefix``: its English pieces, by page."""
    seen: set[str] = set()
    per_kind: dict[str, int] = {}
    queue = deque(start)
    english: dict[str, list[str]] = {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen or per_kind.get(kind(path), 0) >= PAGES_OF_A_KIND:
            continue
        seen.add(path)
        per_kind[kind(path)] = per_kind.get(kind(path), 0) + 1
        answer = client.get(path)
        assert answer.status_code < 500, path
        if answer.status_code != 200 or "html" not in answer.content_type:
            continue
        text = Text()
        text.feed(answer.get_data(as_text=True))
        found = [p for p in text.pieces if ENGLISH.search(LOGIN_NAME.sub("", p)) or RAW_CODE.fullmatch(p)]
        if found:
            english[path] = found
        for link in text.links:
            parts = urlsplit(link)
            if parts.netloc or not parts.path.startswith(prefix) or "lang=" in parts.query:
                continue
            if any(word in parts.path for word in ("keluar", "logout", "csv", "unduh")):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert len(seen) >= len(start), seen
    return english


@pytest.fixture
def demo(demo_app: Any) -> Any:
    return demo_app


def test_the_agents_app_in_indonesian_holds_no_english(demo: Any) -> None:
    client = demo.test_client()
    log_in(client, "/agen/masuk", "agent.pkp1")

    english = walk(client, ["/agen/", "/agen/insentif", "/agen/setoran", "/agen/antrean"], "/agen")

    assert english == {}, "\n".join(f"{page}: {pieces}" for page, pieces in english.items())


def test_finances_desk_in_indonesian_holds_no_english(demo: Any) -> None:
    client = demo.test_client()
    log_in(client, "/keuangan/masuk", "finance.pkp")

    english = walk(client, ["/keuangan/batch"], "/keuangan")

    assert english == {}, "\n".join(f"{page}: {pieces}" for page, pieces in english.items())


def test_the_admin_desk_in_indonesian_holds_no_english(demo: Any) -> None:
    """Branches, Wadah, staff and the roster of agents, as the admin sees them."""
    client = demo.test_client()
    log_in(client, "/admin/masuk", "admin")

    english = walk(client, ["/admin/staf", "/admin/cabang", "/admin/wadah", "/admin/agen"], "/admin")

    assert english == {}, "\n".join(f"{page}: {pieces}" for page, pieces in english.items())
