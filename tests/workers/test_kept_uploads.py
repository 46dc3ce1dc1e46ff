"""Large uploads wait for their worker in the database (core/blobs.py), so a worker that shares nothing with the web
app but PostgreSQL (or the SQLite file) and Redis imports them: run by a real ``rq worker --burst`` whose working
directory and instance folder are another, empty folder. A re-run does nothing; an upload sent again keeps one file;
a file the release before left in the instance folder is still imported, once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rq.job import Job
from sqlalchemy import func, select

from collection.members.models import Member
from collection.national.models import NationalImport, NationalMember
from collection.sponsors.models import ProgrammeMember, SponsorImport
from core import blobs
from core.audit import AuditEvent
from core.extensions import db, redis_connection
from tests.collection.national.test_national_import import export, line
from tests.collection.national.test_national_import import upload as national_upload
from tests.collection.sponsors.test_sponsors import basel_csv, programme, sponsor, upload
from tests.conftest import ROOT
from workers.queues import IMPORT_NATIONAL_FILE, IMPORT_SPONSORED_FILE, LOW, queue

ROWS = 2500  # over the API's default INLINE_ROWS (2,000): the import goes to a worker, as in production


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An empty folder standing for another host's disk: the worker's working directory and instance folder."""
    path = tmp_path / "worker-host"
    path.mkdir()
    return path


@pytest.fixture
def worker_elsewhere(database_url: str, redis_url: str, elsewhere: Path) -> Any:
    """Run a real ``rq worker --burst`` that shares only the database and Redis with the web app."""

    def run(*queues: str) -> subprocess.CompletedProcess[str]:
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            IURAN_INSTANCE=str(elsewhere),
            PYTHONPATH=str(ROOT),
        )
        argv = [str(Path(sys.executable).parent / "rq"), "worker", "--burst", "-u", redis_url, *queues]
        done = subprocess.run(argv, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"rq worker exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    return run


def count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def files_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def enqueue_again(app: Any, job: str, import_id: int) -> str:
    """The same job once more, under a new id (a retry by hand, a duplicate from a restarted web process)."""
    with app.app_context():
        return str(queue(LOW).enqueue(job, import_id).id)


def result_of(app: Any, job_id: str) -> Any:
    with app.app_context():
        return Job.fetch(job_id, connection=redis_connection()).return_value()


def test_a_large_sponsor_import_is_run_by_a_worker_that_shares_only_the_database_and_redis(
    client, world, pinned_app, worker_elsewhere, elsewhere, instance_path
):
    sponsor_id = sponsor(client, world["finance"], "donor", "PT Dermawan", None)
    programme_id = programme(client, world, sponsor_id, "FAR-AWAY", "2026-01", 24, 100_000_000)
    queued = upload(client, world["finance"], programme_id, basel_csv(ROWS))
    assert queued.status_code == 202, queued.get_json()
    import_id = queued.get_json()["id"]
    assert count(pinned_app, blobs.StoredFile) == 1  # the file waits in the database

    worker_elsewhere(LOW)

    response = client.get(f"/api/v1/sponsor-imports/{import_id}", headers=world["finance"].headers)
    done = response.get_json()
    assert (done["status"], done["rows_done"], done["created"]) == ("done", ROWS, ROWS)
    assert count(pinned_app, ProgrammeMember) == ROWS
    assert count(pinned_app, blobs.StoredFile) == 0  # let go in the commit that finished the import
    assert files_in(elsewhere) == []  # the worker wrote nothing on its own disk ...
    assert not (instance_path / "sponsor-imports").exists()  # ... nor the web app on its own

    again = enqueue_again(pinned_app, IMPORT_SPONSORED_FILE, import_id)
    worker_elsewhere(LOW)

    assert result_of(pinned_app, again) == {}
    assert count(pinned_app, Member) == ROWS
    assert count(pinned_app, AuditEvent, AuditEvent.action == "sponsor_import.done") == 1


def test_a_large_national_import_is_run_by_a_worker_that_shares_only_the_database_and_redis(
    client, world, pinned_app, worker_elsewhere, elsewhere, instance_path
):
    queued = national_upload(
        client, world["supervisor"], world["pkp"], export(*(line(n, "2026-11") for n in range(1, ROWS + 1)))
    )
    assert queued.status_code == 202, queued.get_json()
    import_id = queued.get_json()["id"]
    assert count(pinned_app, blobs.StoredFile) == 1

    worker_elsewhere(LOW)

    response = client.get(f"/api/v1/national-imports/{import_id}", headers=world["supervisor"].headers)
    done = response.get_json()
    assert (done["status"], done["rows_done"], done["created"]) == ("done", ROWS, ROWS)
    assert count(pinned_app, NationalMember) == ROWS
    assert count(pinned_app, blobs.StoredFile) == 0
    assert files_in(elsewhere) == []
    assert not (instance_path / "national-imports").exists()

    again = enqueue_again(pinned_app, IMPORT_NATIONAL_FILE, import_id)
    worker_elsewhere(LOW)

    assert result_of(pinned_app, again) == {}
    assert count(pinned_app, NationalMember) == ROWS
    assert count(pinned_app, AuditEvent, AuditEvent.action == "national_import.done") == 1


def test_a_file_uploaded_again_while_its_import_waits_is_kept_once(client, world, pinned_app, worker_elsewhere):
    pinned_app.config["SPONSOR_IMPORT_INLINE_ROWS"] = 2
    sponsor_id = sponsor(client, world["finance"], "donor", "PT Dermawan", None)
    programme_id = programme(client, world, sponsor_id, "TWICE", "2026-01", 24, 10_000_000)
    first = upload(client, world["finance"], programme_id, basel_csv(5)).get_json()
    with pinned_app.app_context():
        redis_connection().flushdb()  # the job is lost (a Redis restart): the same upload queues it again
    second = upload(client, world["finance"], programme_id, basel_csv(5))

    assert second.status_code == 202 and second.get_json()["id"] == first["id"]
    with pinned_app.app_context():
        kept = db.session.execute(select(blobs.StoredFile.kind, blobs.StoredFile.key)).all()
    assert kept == [("sponsor_import", str(first["id"]))]

    worker_elsewhere(LOW)

    assert count(pinned_app, SponsorImport, SponsorImport.status == "done") == 1
    assert count(pinned_app, blobs.StoredFile) == 0


def test_a_file_the_previous_release_left_in_the_instance_folder_is_still_imported_once(
    client, world, pinned_app, rq_burst, instance_path
):
    """One release of grace: a large upload queued before the upgrade waits in <instance>/national-imports/."""
    pinned_app.config["NATIONAL_IMPORT_INLINE_ROWS"] = 2
    content = export(*(line(n, "2026-11") for n in range(1, 6)))
    queued = national_upload(client, world["supervisor"], world["pkp"], content)
    import_id = queued.get_json()["id"]
    with pinned_app.app_context():
        redis_connection().flushdb()
        blobs.delete(db.session, "national_import", str(import_id))  # as the release before: no file in the database
        db.session.commit()
    old = instance_path / "national-imports" / f"{import_id}.csv"
    old.parent.mkdir()
    old.write_text(content)
    enqueue_again(pinned_app, IMPORT_NATIONAL_FILE, import_id)

    rq_burst(LOW)  # a worker on the web app's host, with its instance folder

    assert count(pinned_app, NationalImport, NationalImport.status == "done") == 1
    assert count(pinned_app, NationalMember) == 5
    assert not old.exists()
