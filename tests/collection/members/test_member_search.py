"""Name search at national scale: the same results and order as ranking every candidate in full, only the page's
members loaded, and (PostgreSQL, under a language collation) the name keys read through their index."""

from __future__ import annotations

import difflib
import random
import re
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text

from collection.members import search
from collection.members.models import Member, MemberNameKey
from collection.members.names import Likeness, _respell, name_keys, name_tokens, similarity
from collection.members.search import NAME_SEARCH_CANDIDATES, Candidate, rank
from collection.members.services import find_members
from core.extensions import db
from organisation.models import StaffUser
from tests.statements import captured

NAMES = [
    "Siti Aminah", "Siti Aminah", "Sitti Aminah", "Siti Amina", "Siti Nurhaliza", "Siti Nurhalisa", "Sri Wahyuni",
    "Sri Wahyuningsih", "Soekarno", "Sukarno", "Sukarni", "Budi Santoso", "Boedi Santosa", "Budi Susanto",
    "Bambang Sutrisno", "Rina Lestari", "Rini Lestari", "Rino Lestari", "Rina Wijaya", "Achmad Yusuf", "Ahmad Jusuf",
    "Akhmad Yusup", "Muhammad Rizki", "Mohammad Rizky", "Dewi Sartika", "Dewi Sri", "Djoko Widodo", "Joko Widodo",
    "Tjahjo Kumolo", "Cahyo Kumolo", "Nur Aini", "Nur'aini", "Nurul Huda", "Made Wirawan", "Nyoman Sudarsana",
]  # fmt: skip
QUERIES = [
    "siti", "Siti A", "sit", "s", "Siti Aminah", "sukarno", "Budi Santoso", "budi s", "rina lestari", "lest",
    "Ahmad Yusuf", "muh", "Joko W", "nur", "Dewi Sri", "xyz", "nyoman s", "Made",
]  # fmt: skip


def reference(names: dict[int, str], query: str) -> tuple[list[int], int]:
    """Every member ranked in full, as name search always ranked them (main before issue 14)."""
    keys = name_keys(query)
    exact, last = keys[:-1], keys[-1]
    scored = []
    for member_id, name in names.items():
        matched = sum(1 for key in name_keys(name) if key in exact or key.startswith(last))
        if matched:
            scored.append((member_id, matched))
    scored = sorted(scored, key=lambda pair: (-pair[1], pair[0]))[:NAME_SEARCH_CANDIDATES]
    ranked = sorted(scored, key=lambda p: (-p[1], -similarity(query, names[p[0]]), names[p[0]], p[0]))
    return [member_id for member_id, _ in ranked], len(ranked)


@pytest.fixture
def seeded(pinned_app: Any, world: dict[str, Any], enrol: Any) -> dict[int, str]:
    """The names above enrolled in Pangkalpinang, and again (a second NIK each) in Pontianak: id → name."""
    from tests.factories import nik_for

    names = {}
    for serial, name in enumerate(NAMES, start=1):
        names[enrol(nik=nik_for(serial=serial), name=name)["id"]] = name
        other = enrol(as_="ptk_agent", nik=nik_for("6171", serial=serial), name=name)
        names[other["id"]] = name
    return names


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_name_search_gives_the_full_ranking_page_by_page(pinned_app, world, seeded, role):
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world[role].id)
        visible = {i: n for i, n in seeded.items() if actor.branch_id is None or i in _branch_ids(actor.branch_id)}
        for query in QUERIES:
            if not name_keys(query):
                continue
            expected, total = reference(visible, query)
            for offset, limit in ((0, 20), (0, 3), (3, 3), (5, 100), (len(expected), 5)):
                page, found = find_members(db.session, actor, q=query, offset=offset, limit=limit)
                assert [m.id for m in page] == expected[offset : offset + limit], (query, offset, limit)
                assert found == total, query
            db.session.rollback()


def _branch_ids(branch_id: int) -> set[int]:
    return set(db.session.scalars(select(Member.id).where(Member.branch_id == branch_id)))


def test_each_typed_token_reads_at_most_the_window_of_keys_in_index_order(pinned_app, world, seeded, monkeypatch):
    monkeypatch.setattr(search, "KEY_WINDOW", 2)
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world["admin"].id)
        page, total = find_members(db.session, actor, q="siti")
    equal_key = sorted(i for i, name in seeded.items() if "S3" in name_keys(name))  # "S3" sorts before "S3…"
    assert total == 2
    assert sorted(m.id for m in page) == equal_key[:2]


def test_the_other_tokens_members_have_their_prefix_keys_counted_beyond_the_window(
    pinned_app, world, enrol, monkeypatch
):
    from tests.factories import nik_for

    enrol(nik=nik_for(serial=1), name="Sabar Sabil")  # S16, S14: the first two keys of the S window
    darmawan = enrol(nik=nik_for(serial=2), name="Darmawan Sri Saragih")  # D655, S6, S62
    monkeypatch.setattr(search, "KEY_WINDOW", 2)
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world["agent"].id)
        page, _ = find_members(db.session, actor, q="Darmawan Sa")
    assert page[0].id == darmawan["id"]  # D655 and both S keys: 3, not 1 against Sabar Sabil's 2


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_each_matching_key_of_a_candidate_counts_once(pinned_app, world, seeded, role):
    """The exact keys, the prefix window and the probed members' own prefix keys are put together without a
    de-duplicating UNION: a member's prefix key that is both in the window and among his own still counts once."""
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world[role].id)
        visible = {i: n for i, n in seeded.items() if actor.branch_id is None or i in _branch_ids(actor.branch_id)}
        for query in [*QUERIES, "Siti Aminah A", "Sri Wahyuni W", "Dewi S", "Siti S"]:
            keys = name_keys(query)
            if not keys:
                continue
            exact, last = keys[:-1], keys[-1]
            expected = {
                i: matched
                for i, name in visible.items()
                if (matched := sum(1 for key in name_keys(name) if key in exact or key.startswith(last)))
            }
            found = search.candidates(db.session, None, actor.branch_id, keys)
            assert {c.id: c.matched for c in found} == expected, query
        db.session.rollback()


def test_name_search_loads_only_the_pages_members(pinned_app, world, seeded):
    loaded: list[int] = []
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world["admin"].id)

        def count(target: Any, context: Any) -> None:
            loaded.append(target.id)

        event.listen(Member, "load", count)
        try:
            page, total = find_members(db.session, actor, q="siti", limit=2)
        finally:
            event.remove(Member, "load", count)
    assert total > 2
    assert sorted(loaded) == sorted(m.id for m in page)  # not the other candidates


def test_ranking_with_bounds_gives_the_same_order_as_scoring_every_candidate() -> None:
    rng = random.Random(14)
    words = ["Siti", "Sitti", "Aminah", "Amina", "Sri", "Suri", "Wahyu", "Wahyuni", "Nur", "Nurul", "Ani", "Sari"]
    for trial in range(200):
        query = " ".join(rng.sample(words, rng.randint(1, 2)))
        found = [
            Candidate(i, rng.randint(1, 3), " ".join(rng.choice(words) for _ in range(rng.randint(1, 3))))
            for i in rng.sample(range(1, 10_000), rng.randint(0, 60))
        ]
        full = sorted(found, key=lambda c: (-c.matched, -similarity(query, c.name), c.name, c.id))
        stop = rng.randint(1, 70)
        assert rank(found, Likeness(query), stop) == full[:stop], (trial, query, stop)


def difflib_similarity(a: str, b: str) -> float:
    """similarity() as first written: the mean of difflib's ratios of the tokens as written and respelled."""
    left, right = name_tokens(a), name_tokens(b)
    if not left and not right:
        return 1.0 if a.strip() == b.strip() else 0.0

    def ratio(x: list[str], y: list[str]) -> float:
        return difflib.SequenceMatcher(None, " ".join(x), " ".join(y), autojunk=False).ratio()

    return (ratio(left, right) + ratio([_respell(t) for t in left], [_respell(t) for t in right])) / 2


def test_scores_are_difflibs_and_the_bound_is_never_below_them() -> None:
    names = [*NAMES, "", "123", "Hj.", "Nurhaliza Siti", "Tjahjo", "Soekarno Hatta", "Dzulkifli"]
    for query in ["Siti Nurhaliza", "soekarno", "Cahyo", "Ahmad Jusuf", "12", "Hj."]:
        likeness = Likeness(query)
        for name in names:
            assert likeness.score(name) == difflib_similarity(query, name) == similarity(query, name), (query, name)
            assert likeness.bound(name) >= likeness.score(name), (query, name)


@pytest.mark.postgresql_only
def test_under_a_language_collation_the_search_reads_name_keys_through_the_index(pinned_app, world, seeded):
    """A production database's collation is a language's, not C: there a plain btree does not serve LIKE 'S3%'."""
    plans: dict[str, list[str]] = {}
    with pinned_app.app_context():
        db.session.execute(text('ALTER TABLE member_name_keys ALTER COLUMN key TYPE varchar(40) COLLATE "und-x-icu"'))
        branches = {row.id: row.branch_id for row in db.session.execute(select(Member.id, Member.branch_id))}
        filler = [{"member_id": m, "key": f"Z{n}", "branch_id": branches[m]} for m in seeded for n in range(60)]
        db.session.execute(insert(MemberNameKey), filler)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.execute(text("VACUUM ANALYZE member_name_keys"))  # as autovacuum would: index-only scans
        for role in ("admin", "agent"):
            actor: Any = db.session.get(StaffUser, world[role].id)
            with captured(db.engine) as statements:
                for query in ("siti", "Siti A", "Budi Santoso"):
                    find_members(db.session, actor, q=query)
                find_members(db.session, actor, nik="1971011201900001")
                find_members(db.session, actor, kpj="12345678901")
                find_members(db.session, actor, phone="0812-3456-7890")
            connection = db.session.connection()
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plans[role] = [
                "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
                for statement, parameters in statements
            ]
            db.session.rollback()
    indexes = {"admin": "ix_member_name_keys_key_member", "agent": "ix_member_name_keys_branch_key_member"}
    for role, index in indexes.items():
        searches = [plan for plan in plans[role] if "member_name_keys" in plan]
        assert len(searches) == 3
        for plan in searches:
            assert "Seq Scan on member_name_keys" not in plan, plan
            assert f"Index Only Scan using {index}" in plan, plan
            assert "~>=~" in plan, plan  # the typed prefix is an index range (varchar_pattern_ops), not a filter
        for plan in plans[role]:
            assert "Seq Scan on members" not in plan, plan


@pytest.mark.postgresql_only
@pytest.mark.parametrize("role", ["admin", "agent"])
def test_the_probed_members_own_prefix_keys_are_read_member_by_member(pinned_app, world, seeded, role):
    """For "a word and a prefix", the members the word found have their own prefix keys read member by member, one
    short index range each: never the whole prefix range hashed (100,000 keys for "D" nationally)
    or the table scanned, whatever the planner's estimates prefer (here: with nested loops made costly)."""
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world[role].id)
        with captured(db.engine) as statements:
            search.candidates(db.session, None, actor.branch_id, name_keys("Siti A"))
        connection = db.session.connection()
        connection.execute(text("SET LOCAL enable_nestloop = off"))
        [(statement, parameters)] = statements
        plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
        db.session.rollback()
    assert "Seq Scan on member_name_keys" not in plan, plan
    member_by_member = r"Scan using \w+ on member_name_keys .*\n.*Index Cond: .*\bmember_id = \w+\.member_id\)"
    assert re.search(member_by_member, plan), plan


@pytest.mark.postgresql_only
def test_a_search_run_many_times_is_planned_for_its_own_keys(pinned_app, world, seeded):
    """psycopg prepares a statement run 5 times, and PostgreSQL may then plan it once for any parameters, where
    LIKE $1 is no index range: at 1,000,000 members such searches took 100-350 ms instead of 10-20. The keys (and
    limits) are in the statement's text, so a prepared search has no parameter to plan for."""
    with pinned_app.app_context():
        actor: Any = db.session.get(StaffUser, world["admin"].id)
        for _ in range(7):
            for query in ("Siti A", "Budi S", "Rina L"):
                find_members(db.session, actor, q=query)
        prepared = db.session.execute(
            text("SELECT statement, parameter_types::text AS types FROM pg_prepared_statements")
        ).all()
        db.session.rollback()
    searches = [row for row in prepared if "member_name_keys" in row.statement]
    assert len(searches) == 3, prepared  # one a query: the keys are in the text
    assert [row.types for row in searches] == ["{}"] * 3, searches
