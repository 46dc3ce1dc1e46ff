"""Benchmark: the outbox delivered by 1, then 2 real `rq worker` processes through the HTTP sender, on PostgreSQL.

    .venv/bin/python -m bench.outbox [--texts 1000] [--repeated 25] [--per-repeated 4] [--workers 1 2]
                                     [--gateway-ms 0 50]

For each gateway answer time (0 ms: the machine's own ceiling; 50 ms: closer to a real gateway's round trip) and
each worker count: a fresh migrated database on a throwaway PostgreSQL cluster, one text to each of ``--texts``
recipients and ``--per-repeated`` more to each of the first ``--repeated``, as many deliver_outbox jobs as workers
enqueued at once, then the workers (`rq worker --burst`, sender ``http``) against the stand-in gateway on 127.0.0.1
(tests/gateway.py), which counts every request. It reports texts/s over the sending (the gateway's first request to
its last) and over the whole run with the workers' start-up, the requests per text and the duplicates, and writes
bench/results/outbox-<timestamp>.txt. It measures; it passes or fails on no time (exit 1 when a text was not sent
exactly once, 2 when the benchmark could not run).
"""

from __future__ import annotations

import argparse
import contextlib
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import (
    code_fingerprint,
    dispose,
    format_table,
    migrated_app,
    result_title,
    run_guarded,
    throwaway_postgres,
    throwaway_redis,
    write_result,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1_000, help="recipients with one text each (default 1000)")
    parser.add_argument("--repeated", type=int, default=25, help="recipients with more texts (default 25)")
    parser.add_argument("--per-repeated", type=int, default=4, help="more texts each of those gets (default 4)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default 1 2)")
    parser.add_argument(
        "--gateway-ms", type=float, nargs="+", default=[0, 50], help="the gateway's answer time, ms (default 0 50)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers
        from tests.gateway import StandInGateway
        from tests.outbox_workers import deliver_with_workers, queue_texts

        cluster = throwaway_postgres(cleanup)
        redis = throwaway_redis(cleanup)
        rows, ok, lines = [], True, []
        for delay_ms, workers in [(ms, n) for ms in args.gateway_ms for n in args.workers]:
            url = servers.create_database(cluster.url, f"iuran_bench_outbox_{workers}")
            app = migrated_app(url, redis.url)
            expected = queue_texts(app, args.texts, args.repeated, args.per_repeated)
            dispose(app)
            total = sum(expected.values())
            print(f"bench: {total:,} texts, {workers} worker(s), gateway {delay_ms:g} ms", flush=True)
            with StandInGateway(delay_seconds=delay_ms / 1000).running() as gateway:
                run = deliver_with_workers(url, redis.url, gateway, workers=workers, jobs=workers, log_dir=instance)
            lines.append(run.summary(f"{workers} worker(s), gateway {delay_ms:g} ms"))
            ok = ok and gateway.raw_per_recipient() == expected and run.requests == run.texts == total
            share = " / ".join(str(count) for _, count in sorted(run.per_worker.items()))
            rows.append(
                [
                    f"{delay_ms:g}",
                    workers,
                    f"{total:,}",
                    f"{run.requests:,}",
                    run.duplicates,
                    share,
                    f"{run.sending_seconds:.2f}",
                    f"{total / max(run.sending_seconds, 1e-9):.0f}",
                    f"{run.seconds:.1f}",
                    f"{total / run.seconds:.0f}",
                ]
            )
            servers.drop_database(cluster.url, f"iuran_bench_outbox_{workers}")
        text = "\n".join(
            [
                result_title("outbox delivery", started_at, code_at_start),
                "rq worker --burst processes (a fork per job), sender http to a stand-in gateway on 127.0.0.1 in the "
                "benchmark's process; PostgreSQL: throwaway cluster, unix socket, fsync off",
                "",
                format_table(
                    [
                        "gateway ms",
                        "workers",
                        "texts",
                        "gateway requests",
                        "duplicates",
                        "per worker",
                        "sending s",
                        "texts/s sending",
                        "run s (with start-up)",
                        "texts/s run",
                    ],
                    rows,
                ),
                "",
                *lines,
                "",
                f"checks {'ok' if ok else 'FAILED'}",
            ]
        )
        write_result("outbox", started_at, text)
        return 0 if ok else 1

    return run_guarded(body, clear_env=("DATABASE_URL", "REDIS_URL", "OUTBOX_SENDER"))


if __name__ == "__main__":
    raise SystemExit(main())
