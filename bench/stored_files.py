"""Benchmark: the memory a 20 MB upload costs while it is kept in the database and read back (core/blobs.py), on
SQLite and on PostgreSQL.

    .venv/bin/python -m bench.stored_files [--mb 20]

For each database a fresh child process builds the app, makes the file (random bytes: nothing to compress), then
measures its peak resident memory (Linux's VmHWM, reset before each step) above what it held before the step, for
``put`` + commit, and for ``get``. The file itself is ``--mb`` MB; a step that holds nothing more than the file
costs about that much (``get`` makes the bytes it returns). It measures and reports; it passes or fails on no figure
(exit 1 only when the bytes read back differ, 2 when it could not run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import (
    ROOT,
    format_table,
    git_describe,
    migrate,
    run_guarded,
    throwaway_postgres,
    write_result,
)

DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # nothing here talks to Redis


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for text in status:
            if text.startswith(field + ":"):
                return int(text.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current resident size


def child(url: str, mb: int) -> dict[str, Any]:
    """In a fresh process: keep and read back one file, with the peak memory of each step."""
    from app import create_app
    from core import blobs
    from core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    figures: dict[str, Any] = {}
    with app.app_context():
        db.session.execute(db.select(1))  # connect first: the driver's own memory is not the file's
        db.session.rollback()
        content = os.urandom(mb * 1024 * 1024)
        _reset_peak()
        before = _rss_mb("VmRSS")
        blobs.put(db.session, "bench", "1", content, datetime(2026, 12, 1))
        db.session.commit()
        figures["put"] = _rss_mb("VmHWM") - before
        db.session.expire_all()
        _reset_peak()
        before = _rss_mb("VmRSS")
        back = blobs.get(db.session, "bench", "1")
        figures["get"] = _rss_mb("VmHWM") - before
        figures["same"] = back == content
    return figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.stored_files", description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=20, help="the file's size in MB (default 20, the upload limit)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _measure(url: str, mb: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.stored_files", "--mb", str(mb), "--child", url]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=600)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.mb)))
        return 0
    started_at = datetime.now(UTC)

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers

        cluster = throwaway_postgres(cleanup)
        postgres = servers.create_database(cluster.url, "iuran_bench_blobs")
        sqlite = f"sqlite:///{tempfile.mkdtemp(dir=instance)}/blobs.db"
        results = {}
        for name, url in (("SQLite", sqlite), ("PostgreSQL", postgres)):
            migrate(url, DUMMY_REDIS)
            results[name] = _measure(url, args.mb)
        rows = [
            [name, f"{r['put']:.0f}", f"{r['get']:.0f}", "yes" if r["same"] else "NO"] for name, r in results.items()
        ]
        text = "\n".join(
            [
                f"iuran benchmark: a {args.mb} MB upload kept in the database — {started_at:%Y-%m-%d %H:%M} UTC, "
                f"commit {git_describe()}; peak resident MB above the step's start (the file is {args.mb} MB)",
                "",
                format_table(["database", "put + commit MB", "get MB", "read back equal"], rows),
            ]
        )
        write_result("stored-files", started_at, text)
        return 0 if all(r["same"] for r in results.values()) else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    raise SystemExit(main())
