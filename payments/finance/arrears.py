"""The arrears page's figures: what the members of each ageing bucket owe now, and the list of whom to chase,
grouped by agent and village.

Both come from one walk of the branch's chase list (collection/members/chase.py ``chase_rows``: the members in
arrears or lapsed, each with what he owes now by the rule of his own position); the bucket of each member is the
ageing report's (reports.py ``ageing_bucket``, from the reconciled standing), so the rupiah stand beside the
counts they belong to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from collection.members.chase import CHASE_STATUSES, ChaseRow, chase_rows
from collection.members.services import holidays_for
from core.extensions import DbSession
from organisation.models import Branch, StaffUser
from payments.finance.reports import AGEING_BUCKETS, ageing_bucket, last_due_month


@dataclass(frozen=True)
class ChaseGroup:
    """The members of one agent in one village on a page of the list, and what the whole group owes."""

    agent_code: str | None
    agent_name: str | None
    village: str | None
    members: int  # in the whole group, not only on this page
    owed_idr: int
    rows: list[ChaseRow] = field(default_factory=list)


@dataclass
class ArrearsList:
    owed_by_bucket: dict[str, int]  # rupiah owed now by the members of each ageing bucket
    count: int  # members on the list
    groups: list[ChaseGroup]  # this page's members, grouped

    @property
    def owed_idr(self) -> int:
        return sum(self.owed_by_bucket.values())


def _order(row: ChaseRow) -> tuple[bool, str, bool, str, int, str]:
    village = (row.member.village or "").strip()
    return (
        row.agent_code is None,  # members with no agent last
        row.agent_code or "",
        not village,
        village.casefold(),
        -row.standing.months_in_arrears,  # who owes most first
        row.member.name.casefold(),
    )


def arrears_list(
    session: DbSession, actor: StaffUser, branch: Branch, today: date, now: datetime, offset: int, limit: int | None
) -> ArrearsList:
    """The rupiah owed per bucket and a page of the chase list by agent, village, months owed and name."""
    last_due = last_due_month(holidays_for(session, branch, today - timedelta(days=62), today), today)
    owed = dict.fromkeys(AGEING_BUCKETS, 0)
    rows = list(chase_rows(session, actor, CHASE_STATUSES, now, branch.id))
    totals: dict[tuple[str | None, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        member = row.member
        bucket = ageing_bucket(member.status, member.paid_through, member.first_month, last_due)
        if bucket is not None:
            owed[bucket] += row.standing.arrears_idr
        total = totals[row.agent_code, (member.village or "").strip().casefold()]
        total[0] += 1
        total[1] += row.standing.arrears_idr
    rows.sort(key=_order)
    page = rows[offset:] if limit is None else rows[offset : offset + limit]
    groups: list[ChaseGroup] = []
    for row in page:
        village = (row.member.village or "").strip()
        if not groups or (groups[-1].agent_code, (groups[-1].village or "").casefold()) != (
            row.agent_code,
            village.casefold(),
        ):
            members, amount = totals[row.agent_code, village.casefold()]
            groups.append(ChaseGroup(row.agent_code, row.agent_name, village or None, members, amount))
        groups[-1].rows.append(row)
    return ArrearsList(owed, len(rows), groups)
