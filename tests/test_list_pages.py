"""Every API list in pages, one way (core/paging.py): ``?page=&page_size=``, the total in X-Pagination, at most
1,000 a page. Several lists stopped silently (alerts at 200, callbacks under review and agent proposals at 500,
statement lines at 1,000); the others sent everything in one answer. Each is walked here page by page over a
world with more than those caps: every item once, none missing, as many as the total says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from agents.roster.models import DeactivationProposal
from collection.sponsors.models import SponsorPayment
from core.extensions import db
from organisation.models import Agent
from payments.autodebit.models import Mandate, WebhookEvent
from payments.finance.models import StatementLine
from payments.ledger.models import BranchAlert, DailyBatch
from tests.two_branches import DAY, TwoBranches, app_with_two_branches

ALERTS = 205  # the list stopped at 200
REVIEW_EVENTS = 505  # at 500
PROPOSALS = 505  # at 500
STATEMENT_LINES = 1_005  # at 1,000

# (path, caller): the lists that were not paged before, each as someone who sees it whole.
LISTS = [
    ("/api/v1/mandates?member_id={debit_member}", "admin"),
    ("/api/v1/webhook-events/review", "admin"),
    ("/api/v1/branches/{a}/statement-lines", "finance_a"),
    ("/api/v1/branches/{a}/batches?date={day}", "finance_a"),
    ("/api/v1/alerts", "supervisor_a"),
    ("/api/v1/sponsors", "finance_a"),
    ("/api/v1/sponsor-programmes", "finance_a"),
    ("/api/v1/sponsor-programmes/{programme}/payments", "finance_a"),
    ("/api/v1/branches/{a}/agents", "supervisor_a"),
    ("/api/v1/branches/{a}/agent-proposals?status=all", "supervisor_a"),
    ("/api/v1/staff", "admin"),
    ("/api/v1/wadahs", "admin"),
    ("/api/v1/branches", "admin"),
]
SILENTLY_CAPPED = {
    "/api/v1/webhook-events/review": REVIEW_EVENTS,
    "/api/v1/branches/{a}/statement-lines": STATEMENT_LINES,
    "/api/v1/alerts": ALERTS,
    "/api/v1/branches/{a}/agent-proposals?status=all": PROPOSALS,
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crowded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, TwoBranches]]:
    """The two branches of the access matrix, with more alerts, callbacks under review, proposals and unmatched
    statement lines in branch A than any list used to show."""
    with app_with_two_branches(request, request.param, tmp_path_factory.mktemp("pages")) as (app, world):
        with app.app_context():
            _crowd(world)
        _second_of_each(app, world)
        yield app, world


def _crowd(world: TwoBranches) -> None:
    agent_id = db.session.scalar(select(Agent.id).where(Agent.branch_id == world.a).order_by(Agent.id))
    line = db.session.get(StatementLine, world.ids["line"])
    assert agent_id is not None and line is not None
    start = datetime(2026, 1, 1, 8, 0)
    db.session.execute(
        insert(BranchAlert),
        [
            {
                "branch_id": world.a,
                "agent_id": None,
                "kind": "test_alert",
                "message": f"alert {n}",
                "raised_on": date(2026, 1, 1) + timedelta(days=n),
                "raised_at": start + timedelta(hours=n % 7),  # ties on raised_at: the id keeps the order whole
            }
            for n in range(ALERTS)
        ],
    )
    db.session.execute(
        insert(WebhookEvent),
        [
            {
                "provider": "midtrans",
                "event_key": f"pages-{n}",
                "order_id": f"unknown-{n}",  # no order we know: only an admin sees it
                "raw_body": "{}",
                "state": "review",
                "received_at": start,
            }
            for n in range(REVIEW_EVENTS)
        ],
    )
    db.session.execute(
        insert(DeactivationProposal),
        [
            {
                "agent_id": agent_id,
                "branch_id": world.a,
                "idle_since": start,
                "proposed_at": start,  # all at once: the id keeps the order whole
                "status": "dismissed",
            }
            for _ in range(PROPOSALS)
        ],
    )
    db.session.execute(
        insert(StatementLine),
        [
            {
                "branch_id": world.a,
                "import_id": line.import_id,
                "bank": line.bank,
                "line_key": f"pages-{n}",
                "row_number": n,
                "booked_on": DAY,
                "amount_idr": 1_000 + n,
                "description": f"TRF PAGES {n}",
                "status": "unmatched",
            }
            for n in range(STATEMENT_LINES)
        ],
    )
    db.session.commit()


def _second_of_each(app: Any, world: TwoBranches) -> None:
    """Lists of one in the matrix's world get a second item (or two), so that each is longer than a page."""
    client, finance = app.test_client(), world.staff["finance_a"].headers
    sponsor = {"kind": "donor", "name": "Yayasan Halaman", "region_code": None}
    assert client.post("/api/v1/sponsors", json=sponsor, headers=finance).status_code == 201
    programme = {
        "code": "HALAMAN-2026",
        "name": "Programme Halaman",
        "sponsor_id": world.ids["sponsor"],
        "package": "JKK+JKM",
        "first_month": "2026-12",
        "months": 2,
        "budget_idr": 10_000_000,
    }
    assert client.post("/api/v1/sponsor-programmes", json=programme, headers=finance).status_code == 201
    with app.app_context():
        first = db.session.get(SponsorPayment, world.ids["sponsor_payment"])
        assert first is not None
        db.session.execute(
            insert(SponsorPayment),
            [
                {
                    "programme_id": first.programme_id,
                    "amount_idr": first.amount_idr,
                    "members": first.members,
                    "member_months": first.member_months,
                    "first_month": first.first_month,
                    "last_month": first.last_month,
                    "paid_on": first.paid_on,
                    "receipt_number": f"{first.receipt_number}-{n}",
                    "verification_code": f"PAGES{n}",
                }
                for n in range(2)
            ],
        )
        db.session.add(  # the roster's agent, enrolled since, with a batch that day
            DailyBatch(branch_id=world.a, agent_id=world.ids["roster_agent"], business_date=DAY, status="closed")
        )
        db.session.execute(
            insert(Mandate),
            [
                {
                    "member_id": world.ids["debit_member"],
                    "provider": "midtrans",
                    "account_label": f"BRI ****000{n}",
                    "status": "cancelled",
                }
                for n in range(2)
            ],
        )
        db.session.commit()


def _url(world: TwoBranches, path: str) -> str:
    return path.format(a=world.a, day=DAY.isoformat(), **world.ids)


def _get(client: Any, world: TwoBranches, caller: str, url: str, **params: Any) -> Any:
    joiner = "&" if "?" in url else "?"
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.get(f"{url}{joiner}{query}", headers=world.staff[caller].headers)


def _total(response: Any) -> int:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return int(json.loads(response.headers["X-Pagination"])["total"])


@pytest.mark.parametrize(("path", "caller"), LISTS, ids=[path for path, _ in LISTS])
def test_a_list_longer_than_a_page_is_walked_whole_with_none_missing_or_twice(
    crowded: tuple[Any, TwoBranches], path: str, caller: str
) -> None:
    app, world = crowded
    client = app.test_client()
    url = _url(world, path)
    whole = _get(client, world, caller, url, page_size=1000)
    total = _total(whole)
    size = max(1, -(-total // 3))  # three pages, or one item a page
    walked: list[str] = []
    page = 1
    while True:
        response = _get(client, world, caller, url, page=page, page_size=size)
        assert _total(response) == total
        items = response.get_json()
        if not items:
            break
        assert len(items) <= size
        walked += [json.dumps(item, sort_keys=True) for item in items]
        page += 1
    beyond = _get(client, world, caller, url, page=9_223_372_036_854_775_807, page_size=1000)

    assert total >= 2, "the list must be longer than a page to be walked"
    assert page - 1 == -(-total // size) >= 2
    assert len(walked) == len(set(walked)) == total  # none twice, none missing
    if total <= 1000:
        assert walked == [json.dumps(item, sort_keys=True) for item in whole.get_json()]  # the same order
    assert path not in SILENTLY_CAPPED or total >= SILENTLY_CAPPED[path]
    assert beyond.status_code == 200 and beyond.get_json() == []


@pytest.mark.parametrize(("path", "caller"), LISTS, ids=[path for path, _ in LISTS])
def test_a_page_over_1000_is_refused_naming_page_size(crowded: tuple[Any, TwoBranches], path: str, caller: str) -> None:
    app, world = crowded
    response = _get(app.test_client(), world, caller, _url(world, path), page_size=1001)
    default = _get(app.test_client(), world, caller, _url(world, path))

    assert response.status_code == 422
    assert "page_size" in response.get_json()["errors"]["query"]
    assert len(default.get_json()) == min(100, _total(default))  # 100 a page unless asked
