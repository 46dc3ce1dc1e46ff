"""`python -m drill [--short] [--db sqlite|postgresql|both] [--scenario NAME ...]`: run the fault drills, print
the table, exit 1 if any request was lost or duplicated or an invariant broke (2 if a drill could not run).

For each database it migrates and seeds a template once; each scenario then runs in a child process of its own
(``python -m drill --inner``), inside a new network namespace (``unshare -n``, loopback only) when the machine
allows it, against its own copy of the template and its own servers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.harness import ROOT, format_table

DATABASES = ("sqlite", "postgresql")
HEADERS = [
    "scenario",
    "db",
    "requests",
    "answered",
    "committed",
    "lost",
    "duplicated",
    "invariants ok",
    "retries (why)",
    "seconds",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from drill.scenarios import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="small counts and short outages (CI)")
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="run only this scenario (repeatable)"
    )
    parser.add_argument(
        "--jobs", type=int, help="scenarios run at once, each with its own servers (default: 2 short, 1 full)"
    )
    parser.add_argument("--no-netns", action="store_true", help="do not use network namespaces")
    parser.add_argument("--keep", action="store_true", help="keep the scenario folders (logs) for a look")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--template", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the outer process: templates, one child per scenario, the table -----------------------------------------


def netns_works() -> bool:
    """Whether `unshare -n` can make a network namespace here and bring its loopback up (root, no seccomp)."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    done = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=10, check=False
    )
    return done.returncode == 0


def build_template(db: str, folder: Path) -> None:
    """Migrate and seed the database every scenario of ``db`` starts from; write what the scenarios need."""
    from drill import seed, stack
    from tests import servers

    redis = servers.start_redis()
    try:
        if db == "sqlite":
            url = f"sqlite:///{folder / 'template.db'}"
            seeded = seed.seed(url, redis.url)
            meta: dict[str, Any] = {"db": db, "path": str(folder / "template.db")}
        else:
            cluster = stack.postgres_template()
            try:
                seeded = seed.seed(cluster.url, redis.url)
            finally:
                cluster.stop("fast")
            meta = {"db": db, "bin_dir": str(cluster.bin_dir), "data_dir": cluster.data_dir, "run_as": cluster.run_as}
            shutil.rmtree(cluster.socket_dir, ignore_errors=True)
    finally:
        redis.stop()
    seeded.save(folder / "seeded.json")
    (folder / "template.json").write_text(json.dumps(meta))


def run_child(db: str, scenario: str, template: Path, args: argparse.Namespace, netns: bool) -> dict[str, Any]:
    result = template / f"result-{scenario}.json"
    argv = [sys.executable, "-m", "drill", "--inner", "--db", db, "--scenario", scenario]
    argv += ["--template", str(template), "--result", str(result)]
    if args.short:
        argv.append("--short")
    if args.keep:
        argv.append("--keep")
    if netns:
        argv = ["unshare", "-n", "--", *argv]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, check=False, timeout=900)
    if result.exists():
        return dict(json.loads(result.read_text()))
    return {
        "scenario": scenario,
        "db": db,
        "error": f"the drill's process exited with code {done.returncode} and no result",
        "seconds": time.monotonic() - started,
    }


def table(rows: list[dict[str, Any]]) -> str:
    cells = []
    for row in rows:
        if row.get("skipped"):
            cells.append([row["scenario"], row["db"], "-", "-", "-", "-", "-", "skipped", row["skipped"], "-"])
            continue
        if row.get("error"):
            cells.append([row["scenario"], row["db"], "-", "-", "-", "-", "-", "COULD NOT RUN", "-", "-"])
            continue
        retries = row["retries"]
        why = ", ".join(f"{k} {v}" for k, v in sorted(retries.items())) if retries else "-"
        cells.append(
            [
                row["scenario"],
                row["db"],
                row["requests"],
                row["answered"],
                row["committed"],
                row["lost"],
                row["duplicated"],
                "yes" if not row["failures"] else "NO",
                why,
                f"{row['seconds']:.0f}",
            ]
        )
    return format_table(HEADERS, cells)


def outer(args: argparse.Namespace) -> int:
    from drill.scenarios import POSTGRESQL_ONLY, SCENARIOS

    dbs = DATABASES if args.db == "both" else (args.db,)
    scenarios = args.scenario or list(SCENARIOS)
    netns = not args.no_netns and netns_works()
    if os.geteuid() == 0 and "postgresql" in dbs:
        from bench.harness import ensure_postgres_server

        ensure_postgres_server()
    print(
        f"drill: {'short' if args.short else 'full'} form; {', '.join(dbs)}; "
        + ("each scenario in its own network namespace" if netns else "no network namespaces: loopback, free ports"),
        flush=True,
    )
    started = time.monotonic()
    folders: dict[str, Path] = {}
    tasks: list[tuple[str, str]] = []
    rows: list[dict[str, Any]] = []
    try:
        for db in dbs:
            folders[db] = Path(tempfile.mkdtemp(prefix=f"iuran-drill-{db}-"))
            print(f"drill: {db}: migrating and seeding the template", flush=True)
            build_template(db, folders[db])
            tasks += [(db, scenario) for scenario in scenarios]
        jobs = args.jobs or (2 if args.short else 1)

        def one(task: tuple[str, str]) -> dict[str, Any]:
            db, scenario = task
            if db != "postgresql" and scenario in POSTGRESQL_ONLY:
                return {"scenario": scenario, "db": db, "skipped": "no database server to stop"}
            print(f"drill: {db}: {scenario}: starting", flush=True)
            row = run_child(db, scenario, folders[db], args, netns)
            lines = [row["error"]] if row.get("error") else row.get("events", [])
            print("\n".join([f"drill: {db}: {scenario}: done", *(f"drill:   {line}" for line in lines)]), flush=True)
            return row

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            rows = list(pool.map(one, tasks))
    finally:
        for folder in folders.values():
            meta_path = folder / "template.json"
            if meta_path.exists():
                meta = json.loads(meta_path.read_text())
                if meta.get("data_dir"):
                    shutil.rmtree(meta["data_dir"], ignore_errors=True)
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(table(rows))
    bad = False
    for row in rows:
        for line in [row["error"]] if row.get("error") else row.get("failures", []) + row.get("notes", [])[:10]:
            print(f"{row['scenario']} on {row['db']}: {line}")
            bad = True
    if any(r.get("lost") or r.get("duplicated") or r.get("failures") or r.get("error") for r in rows):
        bad = True
    print(
        "\n(requests: logical requests the clients sent, each retried with its key until answered; answered: got "
        "a final answer (not a connection error, timeout or 5xx); committed: told it is done (a receipt, a 200 "
        "for a callback); lost: committed but not in the database; duplicated: two payments, events or receipts "
        "for one key, order or month; retries: the tries that failed and why)"
    )
    print(f"drill: {'FAILED' if bad else 'passed'} in {time.monotonic() - started:.0f} s")
    return 1 if bad else 0


# --- the inner process: one scenario against its own servers --------------------------------------------------


def inner(args: argparse.Namespace) -> int:
    from drill import stack as stacks
    from drill.invariants import check, summarise
    from drill.scenarios import SCENARIOS, Context, Size
    from drill.seed import Seeded

    assert args.template and args.result and args.scenario
    scenario = args.scenario[0]
    template = Path(args.template)
    meta = json.loads((template / "template.json").read_text())
    seeded = Seeded.load(template / "seeded.json")
    if os.environ.get("DRILL_NETNS_LO", "1") == "1" and shutil.which("ip"):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=False, capture_output=True)  # a new netns: lo down
    folder = Path(tempfile.mkdtemp(prefix=f"iuran-drill-{args.db}-{scenario}-"))
    os.chmod(folder, 0o755)
    started = time.monotonic()
    row: dict[str, Any] = {"scenario": scenario, "db": args.db}
    with contextlib.ExitStack() as cleanup:
        if not args.keep:
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        try:
            redis = stacks.Redis(folder / "redis")
            redis.folder.mkdir()
            redis.start()
            postgres = None
            if args.db == "postgresql":
                template_pg = stacks.Postgres(Path(meta["bin_dir"]), meta["data_dir"], "", meta["run_as"])
                postgres = stacks.postgres_copy(template_pg)
                url = postgres.url
            else:
                url = f"sqlite:///{stacks.sqlite_copy(Path(meta['path']), folder)}"
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "REDIS_URL": redis.url,
                "IURAN_INSTANCE": str(folder),
                "SECRET_KEY": "drill-" + os.urandom(8).hex(),
                "OUTBOX_SENDER": "drill_file",
                # a delivery the drill kills leaves its claim; short, so the drain's second sweep sends the text
                "OUTBOX_CLAIM_SECONDS": str(stacks.DRILL_CLAIM_SECONDS),
                "DRILL_TEXTS_FILE": str(folder / "texts.jsonl"),
                "PYTHONPATH": str(ROOT),
            }
            for name in ("MIDTRANS_SERVER_KEY", "MIDTRANS_SERVER_KEY_PREVIOUS", "IURAN_BENCH"):
                env.pop(name, None)
            stack = stacks.Stack(folder, env, redis, postgres)
            cleanup.callback(stack.stop)
            stack.start_web()
            stack.start_workers()
            phases = {"start": time.monotonic() - started}
            from core import settings

            key = str(settings.payment_providers()["midtrans"]["server_keys"][0])
            ctx = Context(stack, seeded, Size.of(args.short), key)
            mark = time.monotonic()
            outcomes = SCENARIOS[scenario](ctx)
            phases["load"] = time.monotonic() - mark
            mark = time.monotonic()
            stack.drain()
            phases["drain"] = time.monotonic() - mark
            mark = time.monotonic()
            verdict = check(url, redis.url, outcomes, stack.texts_file)
            phases["check"] = time.monotonic() - mark
            counts = summarise(outcomes)
            row.update(
                requests=counts.get("requests", 0),
                answered=counts.get("answered", 0),
                committed=counts.get("committed", 0),
                lost=verdict.lost,
                duplicated=verdict.duplicated,
                failures=verdict.failures,
                notes=verdict.notes,
                retries={k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("retry:")},
                statuses={k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("status:")},
                events=[
                    *ctx.events,
                    f"rq workers restarted {stack.restarts} times; statuses "
                    + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k.startswith("status:"))
                    + "; seconds "
                    + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()),
                ],
            )
        except Exception as error:
            row["error"] = f"{type(error).__name__}: {error}"
            traceback.print_exc()
            if args.keep:
                print(f"drill: logs kept in {folder}", file=sys.stderr)
    row["seconds"] = time.monotonic() - started
    Path(args.result).write_text(json.dumps(row))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("DATABASE_URL", "REDIS_URL"):  # the drill's servers are its own
        os.environ.pop(name, None)
    if "IURAN_INSTANCE" not in os.environ or not args.inner:
        # Before the app is imported (settings.INSTANCE is read then): nothing here touches ./instance.
        os.environ["IURAN_INSTANCE"] = tempfile.mkdtemp(prefix="iuran-drill-instance-")
    if args.inner:
        return inner(args)
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
