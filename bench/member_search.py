"""Benchmark: member search by name at national scale (1,000,000 members), on PostgreSQL.

    .venv/bin/python -m bench.member_search [--members 1000000] [--runs 5] [--before-runs 2] [--skip-before]

A private PostgreSQL cluster (tests/servers.py) with a database created under an ICU language collation
(``id-ID``), as a production server's would be: under the C collation that the tests use, a plain btree already
serves a prefix LIKE, which hides the problem. The schema is migrated, then ``--members`` members are seeded with
COPY across 40 branches, with their name keys (``names.name_keys``, as enrolment writes them). Names come from
Indonesian given names and family names, drawn with a Zipf-Mandelbrot weighting (Siti is the first word of 4% of
names, the hundredth given name a tenth as common), plus 3% made-up rare names built from syllables; then VACUUM
ANALYZE. (A run of the earlier, steeper weighting, Siti in 15% of names: bench/results/member-search-20261205-210900.)

Searches (``GET /api/v1/members?q=…&page_size=20``), each timed ``--runs`` times after one warm-up, as an admin
(every branch) and as an agent (one branch of ~25,000 members):

- full names of common names (e.g. "Siti Rahayu"), full rare names, one common given name ("Siti");
- type-ahead prefixes ("Sit", "Muhammad R", "Dewi Lest").

Figures, p50/p95/p99 over all searches and by kind:

- before: main's name search (its query and its ranking, copied below as ``main_find_by_name``) with main's index
  (a plain btree on the key), called as a service with a real session, ``--before-runs`` times per search;
- after, service: ``find_members`` with a real session (the same call the route makes);
- after, HTTP: the whole request in process through the Flask test client (token check, query, ranking,
  serialisation); no gunicorn or network in between;
- after, its SQL: the candidates' query alone (``search.candidates``): the service's time less this is the ranking
  in Python and the page's load.

The report says how much of each table the visibility map marks all-visible after the VACUUM ANALYZE (without it an
index-only scan reads the heap for every key), and whether the indexes were built again after the load (the default:
``before`` drops them for main's) or filled row by row as production fills them (``--skip-before``).

Check: for every search, after and before give the same members in the same order, and the same total (exit 1 if
not). It writes bench/results/member-search-<UTC time>.txt. It measures and reports; it fails on no time.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import itertools
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import (
    code_fingerprint,
    dispose,
    ensure_postgres_server,
    format_table,
    git_describe,
    migrate,
    run_guarded,
    write_result,
)

DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # nothing here talks to Redis
BRANCHES = 40
AIM_P99_MS = 50.0
PAGE_SIZE = 20
DATABASE = "iuran_bench_search"

GIVEN = (
    "Siti Muhammad Sri Nur Ahmad Dewi Agus Budi Rina Eko Putri Joko Ratna Andi Dwi Fitri Yuni Rizki Indah Hendra "
    "Wahyu Ani Bambang Slamet Lestari Ayu Ratih Dian Arif Nurul Iwan Endang Yusuf Hadi Rudi Fajar Wulan Eka "
    "Sugeng Teguh Heru Bayu Imam Maya Ika Adi Irfan Novi Dani Ilham Taufik Rini Tuti Yanti Lina Evi Asep Ujang "
    "Wayan Made Nyoman Ketut Putu Kadek Komang Gede Daeng Aminah Fatimah Khadijah Aisyah Zainal Abdul Achmad "
    "Mochammad Moh Soekarno Djoko Tjahjo Yohanes Maria Agustinus Fransiskus Theresia Paulus Kristina Sumiati "
    "Suryani Mulyani Kartini Sutrisno Suparman Supriyadi Sukirman Darmawan Syahrul Chairul Dzulkifli Taufiq"
).split()
FAMILY = (
    "Rahayu Lestari Wahyuni Handayani Susanti Purnamasari Pratama Saputra Hidayat Nugroho Setiawan Kurniawan "
    "Wijaya Santoso Gunawan Hakim Rahman Hasan Siregar Nasution Harahap Lubis Simanjuntak Sinaga Pane Tanjung "
    "Sitompul Hutapea Manurung Panjaitan Ginting Tarigan Sembiring Purba Damanik Saragih Pohan Ritonga Firmansyah "
    "Hermawan Wibowo Prasetyo Susanto Sudarsono Suparno Sutarno Wiryono Prawiro Aminah Ningsih Astuti Permata "
    "Maharani Anggraini Safitri Ramadhan Hidayati Syahputra Kusuma Utami Puspita Rosidah Muslimah Sari Yulianti "
    "Marpaung Situmorang Pasaribu Nainggolan Batubara Daulay Tambunan Hutagalung Sihombing Simatupang Silalahi "
    "Pangaribuan Latuconsina Pattiasina Tuhumury Manuputty Wenas Rumengan Lumentut Pontoh Mamahit Tumbelaka"
).split()
SYLLABLES = "ba be bi bo bu da di du ga gi gu ha hi ja ju ka ki ko ku la li lu ma mi mo mu na ni no nu ra ri ro ru sa si so su ta ti to tu wa wi ya yu".split()  # noqa: E501


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.member_search", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members seeded (default 1000000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each search after (default 5)")
    parser.add_argument("--before-runs", type=int, default=2, help="timed runs of each search before (default 2)")
    parser.add_argument("--skip-before", action="store_true", help="do not measure main's search")
    return parser.parse_args(argv)


# --- names -----------------------------------------------------------------------------------------------------


def _weights(count: int) -> list[float]:
    """Zipf-Mandelbrot weights 1/(k + 10): the first word about 4% of all (Siti, the commonest given name), the
    tenth half as common as the first, the hundredth a tenth."""
    return [1 / (k + 10) for k in range(1, count + 1)]


_CUMULATIVE = {n: list(itertools.accumulate(_weights(n))) for n in (len(GIVEN), len(FAMILY))}


def _zipf(rng: random.Random, words: list[str]) -> str:
    return rng.choices(words, cum_weights=_CUMULATIVE[len(words)])[0]


def rare_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def a_name(rng: random.Random) -> str:
    """A name of one to three words: a given name, often a second given or family name, sometimes a third."""
    if rng.random() < 0.03:
        return f"{rare_word(rng)} {rare_word(rng)}"
    words = [_zipf(rng, GIVEN)]
    shape = rng.random()
    if shape < 0.75:
        words.append(_zipf(rng, FAMILY) if rng.random() < 0.7 else _zipf(rng, GIVEN))
    if shape < 0.30:
        words.append(_zipf(rng, FAMILY))
    return " ".join(dict.fromkeys(words))


def searches(rng: random.Random, names: list[str]) -> list[tuple[str, str]]:
    """(kind, query) pairs drawn from the seeded names."""
    common = [n for n in names if n.split()[0] in GIVEN[:8] and len(n.split()) >= 2]
    rare = [n for n in names if n.split()[0] not in GIVEN]
    two_words = [n for n in names if len(n.split()) >= 2]
    found: list[tuple[str, str]] = []
    found += [("full name, common", n) for n in rng.sample(common, 8)]
    found += [("full name, rare", n) for n in rng.sample(rare, 8)]
    found += [("one common name", g) for g in GIVEN[:6]]
    found += [("prefix of one word", g[:3]) for g in rng.sample(GIVEN[:30], 6)]
    for n in rng.sample(two_words, 8):
        first, second = n.split()[:2]
        found.append(("prefix after a word", f"{first} {second[: rng.randint(1, 4)]}"))
    return found


# --- seeding ---------------------------------------------------------------------------------------------------


def seed(app: Any, members: int) -> tuple[list[str], dict[str, Any]]:
    """Branches, an admin and an agent, ``members`` members and their name keys; returns the names and the staff."""
    from collection.members.names import name_keys
    from core.extensions import db
    from organisation.models import Branch
    from tests.factories import create_staff

    with app.app_context():
        branches = [
            Branch(
                code=f"B{b:02d}",
                name=f"Kantor Cabang {b}",
                province_code="19",
                regency_code="1971",
                timezone="Asia/Jakarta",
            )
            for b in range(1, BRANCHES + 1)
        ]
        db.session.add_all(branches)
        db.session.commit()
        branch_ids = [b.id for b in branches]
    staff = {
        "admin": create_staff(app, "admin", None, "admin.pusat"),
        "agent": create_staff(app, "agent", branch_ids[0]),
    }
    rng = random.Random(14)
    names = [a_name(rng) for _ in range(members)]
    keys_of: dict[str, list[str]] = {}
    today = date(2026, 11, 1)
    stamp = datetime(2026, 11, 1, 3, 0)
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            connection: Any = raw.driver_connection
            with connection.cursor() as cursor:
                columns = (
                    "id, nik, kpj, name, birth_date, sex, phone, occupation, village, sector, district_code, "
                    "declared_income_idr, bracket, package, branch_id, enrolled_on, status, first_month, "
                    "period_started_on, created_at, updated_at"
                )
                with cursor.copy(f"COPY members ({columns}) FROM STDIN") as copy:
                    buffer = io.StringIO()
                    for n, name in enumerate(names, start=1):
                        born = date(1960, 1, 1) + timedelta(days=n % 15_000)
                        buffer.write(
                            f"{n}\t{n:016d}\t{n:011d}\t{name}\t{born}\tF\t+62812{n:08d}\tpedagang\tDesa {n % 50}\tother"
                            f"\t197101\t1000000\t1\tJKK+JKM\t{branch_ids[n % BRANCHES]}\t{today}\tactive\t{today}"
                            f"\t{today}\t{stamp}\t{stamp}\n"
                        )
                        if n % 50_000 == 0:
                            copy.write(buffer.getvalue())
                            buffer = io.StringIO()
                    copy.write(buffer.getvalue())
                with cursor.copy("COPY member_name_keys (member_id, key, branch_id) FROM STDIN") as copy:
                    buffer = io.StringIO()
                    for n, name in enumerate(names, start=1):
                        keys = keys_of.get(name)
                        if keys is None:
                            keys = keys_of[name] = name_keys(name)
                        branch_id = branch_ids[n % BRANCHES]
                        buffer.writelines(f"{n}\t{key}\t{branch_id}\n" for key in keys)
                        if n % 50_000 == 0:
                            copy.write(buffer.getvalue())
                            buffer = io.StringIO()
                    copy.write(buffer.getvalue())
                cursor.execute("SELECT setval(pg_get_serial_sequence('members', 'id'), (SELECT max(id) FROM members))")
                # The test cluster commits asynchronously (synchronous_commit off): until the commit is on disk
                # no hint bit can mark these rows committed and VACUUM marks no page all-visible, so every
                # index-only scan would still read the heap. This commit waits for its WAL instead.
                cursor.execute("SET LOCAL synchronous_commit = on")
            connection.commit()
        finally:
            raw.close()
        vacuum(app)
    return names, staff


def vacuum(app: Any) -> dict[str, str]:
    """VACUUM ANALYZE the two tables; how much of each the visibility map marks all-visible (table: "n of m pages"),
    which decides whether an index-only scan reads the heap."""
    from core.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Synchronous commits here too: ANALYZE commits a transaction, and an asynchronous commit leaves its group
        # of 32 transaction ids "not yet on disk" for a moment, the seeding's among them, so the next VACUUM could
        # set no hint bit and mark no page all-visible (it happened to member_name_keys every time, after members).
        conn.execute(db.text("SET synchronous_commit = on"))
        conn.execute(db.text("VACUUM ANALYZE members"))
        conn.execute(db.text("VACUUM ANALYZE member_name_keys"))
        rows = conn.execute(
            db.text(
                "SELECT relname, relallvisible, relpages FROM pg_class "
                "WHERE relname IN ('members', 'member_name_keys') ORDER BY relname"
            )
        )
        visible = {row.relname: f"{row.relallvisible:,} of {row.relpages:,} pages" for row in rows}
        conn.execute(db.text("RESET synchronous_commit"))  # the connection goes back to the pool as it came
        return visible


INDEXES = {
    "ix_member_name_keys_key_member": "(key varchar_pattern_ops, member_id)",
    "ix_member_name_keys_branch_key_member": "(branch_id, key varchar_pattern_ops, member_id)",
}


def use_mains_index(app: Any, mains: bool) -> dict[str, str]:
    """Main's index (a plain btree on the key) or this branch's two with varchar_pattern_ops."""
    from core.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        if mains:
            for name in INDEXES:
                conn.execute(db.text(f"DROP INDEX {name}"))
            conn.execute(db.text("CREATE INDEX ix_member_name_keys_key ON member_name_keys (key)"))
        else:
            conn.execute(db.text("DROP INDEX ix_member_name_keys_key"))
            for name, columns in INDEXES.items():
                conn.execute(db.text(f"CREATE INDEX {name} ON member_name_keys {columns}"))
    with app.app_context():
        return vacuum(app)


# --- main's search, as it was (collection/members/services.py _find_by_name before issue 14) -------------------


def main_find_by_name(session: Any, query: Any, name: str, offset: int, limit: int) -> tuple[list[Any], int]:
    from sqlalchemy import func, or_, select

    from collection.members.models import Member, MemberNameKey
    from collection.members.names import name_keys, similarity

    keys = name_keys(name)
    exact, last = keys[:-1], keys[-1]
    key_match = or_(MemberNameKey.key.in_([*exact, last]), MemberNameKey.key.startswith(last, autoescape=True))
    matched = func.count(func.distinct(MemberNameKey.key)).label("matched")
    candidates = (
        query.join(MemberNameKey, MemberNameKey.member_id == Member.id)
        .where(key_match)
        .group_by(Member.id)
        .order_by(matched.desc(), Member.id)
        .limit(500)
        .with_only_columns(Member.id, matched)
    )
    scored = session.execute(candidates).all()
    if not scored:
        return [], 0
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_([row.id for row in scored])))}
    ranked = sorted(
        scored,
        key=lambda row: (-row.matched, -similarity(name, members[row.id].name), members[row.id].name, row.id),
    )
    return [members[row.id] for row in ranked[offset : offset + limit]], len(ranked)


# --- measuring -------------------------------------------------------------------------------------------------


def timed(work: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    out = work()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        out = work()
        times.append((time.perf_counter() - started) * 1000)
    return times, out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def measure(
    app: Any, staff: dict[str, Any], queries: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    from sqlalchemy import select

    from collection.members.models import Member
    from collection.members.names import name_keys
    from collection.members.search import candidates
    from collection.members.services import Scope, find_members
    from core.extensions import db
    from organisation.models import StaffUser

    variants = ["after, service", "after, HTTP", "after, its SQL"]
    if not args.skip_before:
        variants.insert(0, "before")
    samples: dict[str, dict[tuple[str, str, str], list[float]]] = {variant: {} for variant in variants}
    results: dict[str, dict[tuple[str, str], Any]] = {variant: {} for variant in ["before", *variants]}
    client = app.test_client()

    def before(actor: Any, role: str, q: str) -> tuple[list[int], int, list[str]]:
        scope = select(Member)
        if actor.branch_id is not None:
            scope = scope.where(Member.branch_id == actor.branch_id)
        page, total = main_find_by_name(db.session, scope, q, 0, PAGE_SIZE)
        out = [m.id for m in page], total, [m.name for m in page[:1]]
        for member in page:  # the session stays as it was (no rollback: that would reload the caller each time)
            db.session.expunge(member)
        return out

    def service(actor: Any, role: str, q: str) -> tuple[list[int], int, list[str]]:
        page, total = find_members(db.session, actor, q=q, limit=PAGE_SIZE)
        out = [m.id for m in page], total, [m.name for m in page[:1]]
        for member in page:  # the session stays as it was (no rollback: that would reload the caller each time)
            db.session.expunge(member)
        return out

    def http(actor: Any, role: str, q: str) -> int:
        query = {"q": q, "page_size": PAGE_SIZE}
        response = client.get("/api/v1/members", query_string=query, headers=staff[role].headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return len(response.get_json())

    def its_sql(actor: Any, role: str, q: str) -> int:
        """The candidates' query alone (collection/members/search.py candidates): the service's time less this is
        the ranking in Python and the page's load."""
        return len(candidates(db.session, None, Scope.of(actor).branch_id, name_keys(q)))

    with app.app_context():
        visible = vacuum(app)  # again: the index-only scans need the visibility map set
    work: dict[str, Callable[[Any, str, str], Any]] = {
        "before": before,
        "after, service": service,
        "after, HTTP": http,
        "after, its SQL": its_sql,
    }
    for variant in variants:
        if variant == "before":
            use_mains_index(app, mains=True)
        runs = args.before_runs if variant == "before" else args.runs
        with app.app_context():
            actors = {role: db.session.get(StaffUser, s.id) for role, s in staff.items()}
            for kind, q in queries:
                for role, actor in actors.items():
                    times, out = timed(functools.partial(work[variant], actor, role, q), runs)
                    samples[variant][(kind, q, role)] = times
                    results[variant][(role, q)] = out
            db.session.remove()
        if variant == "before":
            visible = use_mains_index(app, mains=False)
    with app.app_context():
        capped = {(role, q) for _, q in queries for role, s in staff.items() if windowed(s.branch_id, q)}
        db.session.remove()
    after = results["after, service"]
    same = {key for key, out in results["before"].items() if after.get(key) == out}
    differ = sorted(key for key in results["before"] if key not in same and key not in capped)
    first_alike = {key for key, out in results["before"].items() if after.get(key, ([], 0, []))[2] == out[2]}
    return {
        "samples": samples,
        "results": results,
        "differ": differ,
        "variants": variants,
        "capped": capped,
        "same": same,
        "first_alike": first_alike,
        "visible": visible,
    }


def windowed(branch_id: int | None, q: str) -> bool:
    """Whether a typed token of ``q`` matches more than KEY_WINDOW keys of the caller's members (their search then
    reads only the first KEY_WINDOW: see collection/members/search.py)."""
    from sqlalchemy import func, select

    from collection.members.models import MemberNameKey
    from collection.members.names import name_keys
    from collection.members.search import KEY_WINDOW
    from core.extensions import db

    keys = name_keys(q)
    exact, last = keys[:-1], keys[-1]
    count = select(func.count()).select_from(MemberNameKey)
    if branch_id is not None:
        count = count.where(MemberNameKey.branch_id == branch_id)
    prefix = MemberNameKey.key.like(last + "%")
    conditions = [MemberNameKey.key == key for key in exact] + [prefix & MemberNameKey.key.not_in(exact)]
    return any((db.session.scalar(count.where(condition)) or 0) > KEY_WINDOW for condition in conditions)


def run(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app import create_app
    from collection.members.models import MemberNameKey
    from core.extensions import db
    from tests import servers

    load = os.getloadavg()
    ensure_postgres_server()
    cluster = servers.start_postgres()
    cleanup.callback(cluster.stop)
    servers.admin_execute(
        cluster.url,
        f'DROP DATABASE IF EXISTS "{DATABASE}"',
        f"CREATE DATABASE \"{DATABASE}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'id-ID'",
    )
    url = servers.with_database(cluster.url, DATABASE)
    print("bench: migrating", flush=True)
    migrate(url, DUMMY_REDIS)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    print(f"bench: seeding {args.members:,} members", flush=True)
    started = time.monotonic()
    names, staff = seed(app, args.members)
    seed_s = time.monotonic() - started
    with app.app_context():
        keys = db.session.scalar(select(func.count()).select_from(MemberNameKey)) or 0
        collation = db.session.scalar(
            db.text(
                "SELECT CASE datlocprovider WHEN 'i' THEN 'ICU ' || daticulocale ELSE datcollate END "
                "FROM pg_database WHERE datname = current_database()"
            )
        )
        db.session.remove()
    queries = searches(random.Random(7), names)
    print(f"bench: seeded in {seed_s:.0f} s; timing {len(queries)} searches x 2 callers", flush=True)
    figures = measure(app, staff, queries, args)
    figures.update(seed_s=seed_s, keys=keys, queries=queries, collation=collation, load=load)
    dispose(app)
    return figures


def report(args: argparse.Namespace, figures: dict[str, Any], started_at: datetime, code: str) -> str:
    headers = ["variant", "searches", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    rows = []
    for variant in figures["variants"]:
        every = [t for times in figures["samples"][variant].values() for t in times]
        rows.append([variant, len(every), *(f"{percentile(every, p):.1f}" for p in (50, 95, 99)), f"{max(every):.1f}"])
    by_kind = []
    kinds = list(dict.fromkeys(kind for kind, _ in figures["queries"]))
    for variant in figures["variants"]:
        for kind in kinds:
            for role in ("admin", "agent"):
                times = [
                    t for (k, _, r), ts in figures["samples"][variant].items() if k == kind and r == role for t in ts
                ]
                by_kind.append(
                    [
                        f"{variant}: {kind}, {role}",
                        len(times),
                        f"{percentile(times, 50):.1f}",
                        f"{percentile(times, 95):.1f}",
                        f"{percentile(times, 99):.1f}",
                        f"{max(times):.1f}",
                    ]
                )
    after = [t for times in figures["samples"]["after, HTTP"].values() for t in times]
    p99 = percentile(after, 99)
    totals = figures["results"]["after, service"]
    lines = [
        f"iuran benchmark: member search by name — {started_at:%Y-%m-%d %H:%M} UTC, commit {git_describe()} "
        f"(app code {code}); {os.cpu_count()} cores; load average at the start {figures['load'][0]:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f}",
        f"PostgreSQL {Path(__import__('tests.servers', fromlist=['x']).postgres_bin_dir()).parent.name}, database "
        f"collation {figures['collation']}; {args.members:,} members in {BRANCHES} branches, {figures['keys']:,} name "
        f"keys, seeded with COPY in {figures['seed_s']:.0f} s; indexes "
        f"{'filled row by row during the load' if args.skip_before else 'built again after the load'}; all-visible "
        f"after VACUUM ANALYZE: " + ", ".join(f"{table} {pages}" for table, pages in figures["visible"].items()) + ".",
        f"Each of {len(figures['queries'])} searches as an admin (all branches) and as an agent (one branch of "
        f"~{args.members // BRANCHES:,}): {args.runs} timed runs after one warm-up ({args.before_runs} before); page "
        f"size {PAGE_SIZE}. 'before' = main's query and ranking with main's index, as a service call with a real "
        "session; 'after, service' = find_members with a real session; 'after, HTTP' = GET /api/v1/members?q= "
        "through the Flask test client in process (no gunicorn); 'after, its SQL' = the candidates' query alone "
        "(search.candidates), so 'after, service' less it is the ranking and the page's load.",
        "",
        format_table(headers, rows),
        "",
        f"aim: p99 < {AIM_P99_MS:g} ms (after, HTTP): {'met' if p99 < AIM_P99_MS else 'NOT met'} ({p99:.1f} ms)",
        "",
        format_table(["by kind of search and caller", "n", "p50", "p95", "p99", "max"], by_kind),
        "",
        "searches (kind: query -> candidates for admin / agent):",
        *(
            f"  {kind}: {q!r} -> {totals[('admin', q)][1]} / {totals[('agent', q)][1]}"
            for kind, q in figures["queries"]
        ),
    ]
    if not args.skip_before:
        differ, capped, same, alike = figures["differ"], figures["capped"], figures["same"], figures["first_alike"]
        searched = len(figures["results"]["before"])
        lines += [
            "",
            f"compared with main's search ({searched} searches, admin and agent): the same members, order and total "
            f"in {len(same)}; a typed token matches more than KEY_WINDOW keys in {len(capped)} (the search reads the "
            f"first KEY_WINDOW, so it may differ; it did in {len(capped - same)}); the first result has the name "
            f"main's first has in {len(alike)} of {searched}.",
            "every search below the window as main's: " + ("yes" if not differ else f"NO for {differ}"),
            "first results that differ (caller, query: main's first -> this one's first):",
            *(
                f"  {role}, {q!r}: {before[2]} -> {figures['results']['after, service'][(role, q)][2]}"
                for (role, q), before in sorted(figures["results"]["before"].items())
                if (role, q) not in alike
            ),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        figures = run(args, cleanup)
        text = report(args, figures, started_at, code_at_start)
        write_result("member-search", started_at, text)
        return 1 if figures["differ"] else 0

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    sys.exit(main())
