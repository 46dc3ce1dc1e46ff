"""GET /visits in pages: it stopped, silently, at 1,000 open visits; now every visit is on some page and the total
is known (X-Pagination)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import insert

from collection.members.models import VisitItem
from core.extensions import db

OPEN_VISITS = 1_205


def test_every_open_visit_is_on_some_page_and_the_total_is_known(pinned_app, client, world, enrol):
    member = enrol()
    agent = world["agent"]
    start = datetime(2026, 11, 1, 8, 0)
    with pinned_app.app_context():
        db.session.execute(
            insert(VisitItem),
            [
                {
                    "member_id": member["id"],
                    "branch_id": world["pkp"],
                    "agent_id": agent.agent_id,
                    "reason": "debit_failed",
                    "source_id": n,
                    "note": f"visit {n}",
                    "created_at": start + timedelta(minutes=n),
                }
                for n in range(OPEN_VISITS)
            ],
        )
        db.session.commit()

    first = client.get("/api/v1/visits", headers=agent.headers)
    pages = [client.get(f"/api/v1/visits?page={n}&page_size=1000", headers=agent.headers) for n in (1, 2)]
    beyond = client.get("/api/v1/visits?page_size=1001", headers=agent.headers)
    far = client.get("/api/v1/visits?page=9223372036854775807", headers=agent.headers)  # schemathesis found a 500

    assert first.status_code == 200 and len(first.get_json()) == 100  # a page by default, not everything
    assert json.loads(first.headers["X-Pagination"])["total"] == OPEN_VISITS
    notes = [visit["note"] for page in pages for visit in page.get_json()]
    assert notes == [f"visit {n}" for n in range(OPEN_VISITS)]  # oldest first, none missing, none twice
    assert beyond.status_code == 422
    assert far.status_code == 200 and far.get_json() == []
    other = client.get("/api/v1/visits", headers=world["ptk_agent"].headers)
    assert other.get_json() == [] and json.loads(other.headers["X-Pagination"])["total"] == 0
