"""Member search by name at national scale: candidates from the name keys' index, ranked over ids and names only,
and only the page's members loaded.

1. Candidates: the members with the most matching name keys (equal keys for every typed token but the last, the
   last also by key prefix, for type-ahead), at most ``NAME_SEARCH_CANDIDATES`` of them, by matched count and then
   id, each typed token reading at most KEY_WINDOW keys (see ``candidates``). One query reads the keys from an
   index alone, ix_member_name_keys_key_member across branches or ix_member_name_keys_branch_key_member within one
   (PostgreSQL: varchar_pattern_ops, so the prefix is an index range under any collation; SQLite: a range on the
   key), and the primary key (member_id, key) for the prefix keys of the members the other tokens found; it returns
   each candidate's id, matched count and name.
2. Ranking: by matched count, then similarity to the query, name and id, as always; but similarity is worked out
   only for the candidates that can reach the page (see ``rank``).
3. The page: one query loads the page's members.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, func, literal, select, text, true, union_all
from sqlalchemy.orm import aliased

from collection.members.models import Member, MemberNameKey
from collection.members.names import Likeness, name_keys
from core.errors import query_error
from core.extensions import DbSession

NAME_SEARCH_CANDIDATES = 500  # name search ranks at most this many best key matches, then pages them
KEY_WINDOW = 5_000  # name keys read per typed token (see candidates): bounds a search's work at any size
PREFIX_PROBES = 1_000  # members found by the other tokens whose own keys are searched for the typed prefix


class Candidate(NamedTuple):
    id: int
    matched: int
    name: str


def find_by_name(
    session: DbSession, query: Any, branch_id: int | None, name: str, offset: int, limit: int
) -> tuple[list[Member], int]:
    """One page of the members of a branch (``branch_id``; None: every branch) whose names match ``name``, best
    first, and the number of candidates (at most NAME_SEARCH_CANDIDATES). ``query``, a select of Member, holds
    the caller's other filters (NIK, KPJ, phone, status), or is None."""
    keys = name_keys(name)
    if not keys:
        raise query_error(
            "q", gettext("Type a name (at least one letter), a 16-digit NIK, an 11-digit KPJ or a phone number.")
        )

    found = candidates(session, query, branch_id, keys)
    stop = offset + limit
    if offset >= len(found):
        return [], len(found)
    page = rank(found, Likeness(name), stop)[offset:stop]
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_([c.id for c in page])))}
    return [members[c.id] for c in page], len(found)


def candidates(session: DbSession, query: Any, branch_id: int | None, keys: Sequence[str]) -> list[Candidate]:
    """The best key matches (matched count, then id) with their names, in one round trip.

    Each typed token reads at most KEY_WINDOW keys of the visible members, in the index's order: an equal key by
    member id; the last token's prefix by key (the equal key first, as it sorts before its extensions), then member
    id. The members found by the other tokens (the first PREFIX_PROBES by id) also have their keys with that prefix
    counted, wherever those fall (each such member: one index range of his own keys), so typing "Darmawan Sa" still
    counts Darmawan Sri Saragih's S keys when the S window is full of others. The candidates are the members with
    most matches among those rows. Below KEY_WINDOW rows per token, which is every search within a branch and every
    full name but the commonest nationally, that is every match."""
    exact, last = list(keys[:-1]), keys[-1]
    postgresql = session.get_bind().dialect.name == "postgresql"

    def value(known: Any) -> Any:
        """A key or a limit written into the statement's text when it runs, not sent as a parameter: psycopg
        prepares a statement it has run 5 times, and PostgreSQL may then plan it once for any parameters (a generic
        plan), where LIKE $1 was no index range but a filter on every key, and one key's 30 rows and another's
        100,000 get one plan: 100-350 ms a search at 1,000,000 members. Written in, each search is planned for its
        own keys (SQLAlchemy still compiles the statement once; keys are [A-Z0-9] only, names.phonetic_key)."""
        return literal(known, literal_execute=True)

    # The keys with the typed prefix, as a range of the byte order: keys are [A-Z0-9] only (names.phonetic_key), so
    # The keys with the typed prefix, as a range of the byte order: keys are [A-Z0-9] only, so "S3" ≤ key < "S4" is
    # LIKE 'S3%', and it stays an index range should a plan ever be made for any values (SQLite's LIKE ignores case
    # and its index).
    start, after_prefix = value(last), value(last[:-1] + chr(ord(last[-1]) + 1))

    def by_prefix(column: Any) -> ColumnElement[bool]:
        if postgresql:  # ~>=~ and ~<~: the byte-order operators of the varchar_pattern_ops indexes
            matching = and_(column.op("~>=~")(start), column.op("~<~")(after_prefix))
        else:
            matching = and_(column >= start, column < after_prefix)
        others = [column != value(key) for key in exact]  # an equal key is counted once
        return and_(matching, *others)

    # The index's varchar_pattern_ops order is byte order, written ORDER BY key USING ~<~ (its less-than), so a
    # LIMIT stops the index scan; SQLite's binary order is the same.
    key_order = text("member_name_keys.key USING ~<~") if postgresql else MemberNameKey.key

    def window(condition: ColumnElement[bool], order: list[Any]) -> Any:
        rows = select(MemberNameKey.member_id, MemberNameKey.key).where(condition)
        if branch_id is not None:  # ix_member_name_keys_branch_key_member: that branch's keys alone
            rows = rows.where(MemberNameKey.branch_id == branch_id)
        if query is not None:  # another filter: only the members the query selects
            rows = rows.where(MemberNameKey.member_id.in_(query.with_only_columns(Member.id).scalar_subquery()))
        limited = rows.order_by(*order).limit(value(KEY_WINDOW)).subquery()
        return select(limited.c.member_id, limited.c.key)

    prefix = window(by_prefix(MemberNameKey.key), [key_order, MemberNameKey.member_id])
    matches: Any = prefix
    if exact:
        equal: Any = [window(MemberNameKey.key == value(k), [MemberNameKey.member_id]) for k in exact]
        together: Any = union_all(*equal) if len(equal) > 1 else equal[0]
        found = together.cte("found")
        theirs = aliased(MemberNameKey)
        probed = select(found.c.member_id).order_by(found.c.member_id).limit(value(PREFIX_PROBES)).subquery("probed")
        their_prefix_keys: Any
        if postgresql:
            # Each probed member's own keys, read from the primary key (member_id, key): at most PREFIX_PROBES
            # short index ranges. A LATERAL subquery with OFFSET 0 cannot be flattened into a join, so PostgreSQL
            # cannot choose instead to read every key with the prefix (100,000 for a "D") into a hash, or scan
            # the table, which its estimates sometimes preferred (and which needs heap fetches where the
            # visibility map is not yet set).
            own = (
                select(theirs.member_id, theirs.key)
                .where(theirs.member_id == probed.c.member_id, by_prefix(theirs.key))
                .offset(value(0))
                .lateral("own")
            )
            their_prefix_keys = select(own.c.member_id, own.c.key).select_from(probed).join(own, true())
        else:  # SQLite: no LATERAL; its planner loops over the probed members and reads the primary key anyway
            their_prefix_keys = (
                select(theirs.member_id, theirs.key)
                .join(probed, theirs.member_id == probed.c.member_id)
                .where(by_prefix(theirs.key))
            )
        # Each (member, key) once, without a de-duplicating UNION: the exact and the prefix keys differ (by_prefix
        # leaves out the exact ones), and a probed member's keys in the window are among his own, so the window
        # gives only the members not probed.
        window_rows = prefix.subquery("window_rows")
        others_in_window = select(window_rows.c.member_id, window_rows.c.key).where(
            window_rows.c.member_id.not_in(select(probed.c.member_id))
        )
        matches = union_all(select(found.c.member_id, found.c.key), others_in_window, their_prefix_keys)
    matching = matches.subquery("matching")
    matched = func.count().label("matched")
    best = (
        select(matching.c.member_id.label("id"), matched)
        .group_by(matching.c.member_id)
        .order_by(matched.desc(), matching.c.member_id)
        .limit(value(NAME_SEARCH_CANDIDATES))
        .subquery("best")
    )
    rows = session.execute(select(best.c.id, best.c.matched, Member.name).join(Member, Member.id == best.c.id))
    return [Candidate(row.id, row.matched, row.name) for row in rows]


def rank(found: Sequence[Candidate], likeness: Likeness, stop: int) -> list[Candidate]:
    """The first ``stop`` candidates in the order (more keys matched, more similar, name, id).

    Similarity is the costly part (difflib), so it is worked out only for the groups of equal matched count that
    reach into the first ``stop``; in a group larger than what is still needed, names are scored in order of
    their upper bound until no unscored name can come before the last one needed."""
    ranked: list[Candidate] = []
    by_matched = sorted(found, key=lambda c: -c.matched)
    for _, grouped in itertools.groupby(by_matched, key=lambda c: c.matched):
        needed = stop - len(ranked)
        if needed <= 0:
            break
        group = list(grouped)
        if len(group) <= needed:
            ranked += sorted(group, key=lambda c: (-likeness.score(c.name), c.name, c.id))
        else:
            ranked += _best(group, likeness, needed)
    return ranked


def _best(group: list[Candidate], likeness: Likeness, needed: int) -> list[Candidate]:
    """The ``needed`` best of a group of equal matched count, by (more similar, name, id)."""
    bounded = sorted(((likeness.bound(c.name), c) for c in group), key=lambda pair: -pair[0])
    scored: list[tuple[float, str, int, Candidate]] = []
    top_scores: list[float] = []  # a min-heap of the ``needed`` best scores so far: [0] is the last one needed
    for bound, candidate in bounded:
        if len(top_scores) == needed and bound < top_scores[0]:
            break  # this one and every later one score below ``needed`` others (an equal score may still win on name)
        score = likeness.score(candidate.name)
        scored.append((-score, candidate.name, candidate.id, candidate))
        if len(top_scores) < needed:
            heapq.heappush(top_scores, score)
        elif score > top_scores[0]:
            heapq.heapreplace(top_scores, score)
    return [entry[3] for entry in heapq.nsmallest(needed, scored, key=lambda entry: entry[:3])]
