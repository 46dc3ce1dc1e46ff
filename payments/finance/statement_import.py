"""Large bank statements, imported by a worker (issue 10): a file above ``STATEMENT_INLINE_LINES`` lines waits in
the database (:class:`StatementUpload`: a worker may run on another host), and a job stores its lines, then matches
them, a chunk at a time, committing its progress (``status``, ``lines_done`` of ``lines_total``) with each chunk.

The same file for the same branch is the same import (its SHA-256 is unique per branch): uploaded again while it
runs, it is that import; once done, nothing changes. A run that broke off (a worker killed, a deploy) resumes when
the job runs again or the same file is uploaded again: the lines it stored are known by their keys and are not
written twice, and matching takes up the lines still unmatched. A smaller file is imported in the request, as
:func:`payments.finance.bank.import_statement` always did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from flask_babel import force_locale, gettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import DomainError, NotFound
from core.extensions import DbSession
from core.i18n import API_LANGUAGE as STORED_LANGUAGE
from organisation.models import Branch, StaffUser
from payments.finance import bank, matching
from payments.finance.models import StatementImport, StatementImportStatus, StatementLine, StatementUpload

INLINE_LINES = 5000  # a file of more lines than this goes to a worker (settings: STATEMENT_INLINE_LINES)
RUNNING = (StatementImportStatus.QUEUED, StatementImportStatus.STORING, StatementImportStatus.MATCHING)
MAX_ID = 2**31 - 1  # statement_imports.id is an INTEGER


def submit(
    session: DbSession,
    actor_id: int | None,
    branch: Branch,
    bank_code: str,
    filename: str,
    content: bytes,
    now: datetime,
    inline_lines: int = INLINE_LINES,
) -> tuple[bank.ImportReport, int]:
    """Import a small file now, or register a large one for a worker; returns the report and its HTTP status:
    201 imported now, 200 imported before (nothing changed), 202 waiting for a worker or running (the caller then
    has :func:`workers.queues.queue_statement_import` make sure a job will run it)."""
    bank.bank_format_of(bank_code)
    digest = hashlib.sha256(content).hexdigest()
    known = _known(session, branch.id, digest)
    if known is not None and known.status == StatementImportStatus.DONE:
        return bank.report(session, known, already_imported=True), 200
    if known is not None and known.status != StatementImportStatus.REFUSED:
        return bank.report(session, known), 202  # queued, running, or broken off: resumed by a job
    if content.count(b"\n") <= inline_lines:
        done = bank.import_statement(session, branch, bank_code, filename, content, actor_id, now)
        return done, 200 if done.already_imported else 201
    bank.check_header(content, bank_code)
    if known is not None:  # refused by a worker before: read again
        _forget(session, known)
    record = StatementImport(
        branch_id=branch.id,
        bank=bank_code,
        filename=filename[:200] or "statement.csv",
        file_sha256=digest,
        imported_by_user_id=actor_id,
        imported_at=now,
        status=StatementImportStatus.QUEUED,
    )
    session.add(record)
    try:
        session.flush()
        session.add(StatementUpload(import_id=record.id, content=content))
        session.commit()
    except IntegrityError:  # the same file, uploaded at this moment by someone else: that import is this one
        session.rollback()
        twin = _known(session, branch.id, digest)
        if twin is None:
            raise
        return bank.report(session, twin, already_imported=twin.status == StatementImportStatus.DONE), 202
    return bank.report(session, record), 202


def _known(session: DbSession, branch_id: int, digest: str) -> StatementImport | None:
    return session.scalar(
        select(StatementImport).where(StatementImport.branch_id == branch_id, StatementImport.file_sha256 == digest)
    )


def _forget(session: DbSession, record: StatementImport) -> None:
    upload = session.get(StatementUpload, record.id)
    if upload is not None:
        session.delete(upload)
    session.delete(record)
    session.flush()


def run_import(
    session: DbSession,
    import_id: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    chunk: int = bank.CHUNK,
) -> StatementImport | None:
    """Read, store and match a waiting file, committing each chunk with its progress; safe to run again (a run
    that broke off resumes; a finished import is left as it is). ``progress(lines_done)`` follows each commit."""
    record = session.get(StatementImport, import_id)
    if record is None or record.status in (StatementImportStatus.DONE, StatementImportStatus.REFUSED):
        return record
    upload = session.get(StatementUpload, import_id)
    if upload is None:  # cannot happen: the file is let go only when the import ends
        raise ValueError(f"statement import {import_id} has no file waiting")
    branch_id, bank_code, content = record.branch_id, record.bank, upload.content
    session.expunge(upload)  # the parsed lines are what is needed from here on, not the file's bytes
    del upload
    session.rollback()  # parse outside a transaction: on SQLite a transaction holds the write lock
    try:
        try:
            with force_locale(STORED_LANGUAGE):  # stored for every reader: in the language the API answers in
                parsed = bank.read_statement(content, bank_code)
        except DomainError as error:
            record = _locked(session, import_id)
            record.status = StatementImportStatus.REFUSED
            record.errors = json.dumps(_messages(error))
            record.finished_at = now
            session.execute(delete(StatementUpload).where(StatementUpload.import_id == import_id))
            session.commit()
            return record
        del content
        record = _locked(session, import_id)
        bank.describe(record, parsed)
        record.status, record.lines_done = StatementImportStatus.STORING, 0

        def step(lines: int) -> None:
            record.lines_done += lines
            session.commit()  # the chunk and the progress together
            if progress:
                progress(record.lines_done)
            bank.lock_branch(session, branch_id)  # one writer per branch at a time, chunk by chunk

        bank.store_lines(session, branch_id, bank_code, import_id, parsed.lines, on_chunk=step, chunk=chunk)
        record.status, record.lines_done = StatementImportStatus.MATCHING, 0
        step(0)
        matching.match_lines(session, branch_id, now, import_id=import_id, on_chunk=step, chunk=chunk)
        record.new_lines = session.scalar(select(func.count()).where(StatementLine.import_id == import_id)) or 0
        record.status, record.lines_done = StatementImportStatus.DONE, record.lines_total
        record.finished_at = now
        record.errors = None
        session.execute(delete(StatementUpload).where(StatementUpload.import_id == import_id))  # not loading it
        audit.record(
            session,
            "statement.imported",
            "statement_import",
            import_id,
            record.imported_by_user_id,
            bank=bank_code,
            lines=record.new_lines,
            sha=record.file_sha256,
        )
        session.commit()
        return record
    except Exception as error:
        session.rollback()
        broken = session.get(StatementImport, import_id)
        if broken is not None and broken.status != StatementImportStatus.DONE:
            broken.status = StatementImportStatus.FAILED
            broken.errors = json.dumps(
                [f"The import broke off ({type(error).__name__}): upload the same file again and it resumes."]
            )
            session.commit()
        raise


def _locked(session: DbSession, import_id: int) -> StatementImport:
    record = session.get(StatementImport, import_id)
    assert record is not None
    bank.lock_branch(session, record.branch_id)
    return record


def _messages(error: DomainError) -> list[str]:
    rows = [m for fields in (error.errors or {}).values() for messages in fields.values() for m in messages]
    return rows or [error.message]


def import_for(session: DbSession, actor: StaffUser, import_id: int, branch_id: int | None = None) -> bank.ImportReport:
    """An import of a branch the caller works for (of ``branch_id``, when given), with its progress or its report;
    a 404 for another branch's."""
    record = session.get(StatementImport, import_id) if 0 < import_id <= MAX_ID else None
    if record is not None and branch_id is not None and record.branch_id != branch_id:
        record = None
    if record is not None:
        try:
            bank.branch_for(session, actor, record.branch_id)
        except NotFound:
            record = None
    if record is None:
        raise NotFound(gettext("There is no statement import %(id)s among your branch's.", id=import_id))
    return bank.report(session, record, already_imported=False)
