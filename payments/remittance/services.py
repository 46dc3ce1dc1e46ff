"""Making a branch's remittance file, listing and downloading files, and finance's acknowledgement.

What a file carries (set-based SQL: two selections written in batches, and one streamed SELECT for the file):

- every allocation (a settled contribution month) of the branch's members not carried before, unless its
  payment came by the ``imported`` channel or was reversed before any file carried it;
- a negative line for every allocation an earlier file carried that has since been reversed, once.

``remittance_lines`` holds what each file carried, unique on (allocation, kind): no line twice, ever. Scans
start above the branch's mark (``remittance_marks.covered_through``): the highest allocation id whose payment
was recorded :data:`SCAN_MARGIN` before the last scan, so every allocation at or below it had committed and
been seen by a scan (a transaction that writes payments commits well within the margin). The mark row is
locked (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite's writes begin with ``BEGIN IMMEDIATE``), and
``(branch_id, sequence)`` is unique: two generators at once make one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import CursorResult, Select, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from collection.members.models import Member, PaymentAllocation
from collection.members.services import holidays_for
from collection.sponsors.models import SponsorPayment
from core import audit
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import day_label
from organisation.models import Branch, Role, StaffUser
from payments.ledger.models import Payment, Receipt
from payments.remittance.models import RemittanceFile, RemittanceLine, RemittanceMark
from payments.remittance.rules import EXCLUDED_CHANNELS, Line, acknowledgement_due_on, file_name, write_file

SCAN_MARGIN = timedelta(hours=24)
READERS = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)
ACKNOWLEDGERS = (Role.BRANCH_FINANCE, Role.ADMIN)
MAX_REFERENCE = 64
STREAM_ROWS = 10_000
WRITE_ROWS = 5_000  # PostgreSQL takes at most 65,535 parameters in a statement


# --- making a file -----------------------------------------------------------------------------------


def _lock_mark(session: DbSession, branch_id: int) -> RemittanceMark:
    """The branch's mark, made on first use, locked for this transaction."""
    if session.get(RemittanceMark, branch_id) is None:
        try:
            with session.begin_nested():
                session.add(RemittanceMark(branch_id=branch_id, covered_through=0))
        except IntegrityError:
            pass  # a concurrent generator made it: take its lock below
    mark = session.scalars(
        select(RemittanceMark)
        .where(RemittanceMark.branch_id == branch_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    return mark


def _new_mark(session: DbSession, covered: int, now: datetime) -> int:
    """The highest allocation id above ``covered`` whose payment was recorded before ``now - SCAN_MARGIN``."""
    found = session.scalar(
        select(func.max(PaymentAllocation.id))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.id > covered, Payment.recorded_at <= now - SCAN_MARGIN)
    )
    return max(covered, found or 0)


def _store_lines(session: DbSession, file_id: int, branch_id: int, kind: str, candidates: Select[int, int]) -> int:
    """Write the lines ``candidates`` selects (allocation id, amount), in batches. Selected first, then inserted:
    an INSERT … SELECT whose anti-join reads the table it grows turns quadratic on PostgreSQL."""
    found = session.execute(candidates).all()
    for start in range(0, len(found), WRITE_ROWS):
        session.execute(
            insert(RemittanceLine),
            [
                {"file_id": file_id, "branch_id": branch_id, "allocation_id": a, "kind": kind, "amount_idr": amount}
                for a, amount in found[start : start + WRITE_ROWS]
            ],
        )
    return len(found)


def _add_payment_lines(session: DbSession, file_id: int, branch_id: int, covered: int) -> int:
    carried = exists().where(
        RemittanceLine.allocation_id == PaymentAllocation.id, RemittanceLine.kind == literal("payment")
    )
    candidates = (
        select(PaymentAllocation.id, PaymentAllocation.amount_idr)
        .join(Member, Member.id == PaymentAllocation.member_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(
            Member.branch_id == branch_id,
            PaymentAllocation.id > covered,
            PaymentAllocation.reversed.is_(False),
            Payment.channel.not_in(EXCLUDED_CHANNELS),
            ~carried,
        )
    )
    return _store_lines(session, file_id, branch_id, "payment", candidates)


def _add_reversal_lines(session: DbSession, file_id: int, branch_id: int) -> int:
    sent = aliased(RemittanceLine)
    undone = aliased(RemittanceLine)
    already = exists().where(undone.allocation_id == sent.allocation_id, undone.kind == literal("reversal"))
    candidates = (
        select(sent.allocation_id, -sent.amount_idr)
        .join(PaymentAllocation, PaymentAllocation.id == sent.allocation_id)
        .where(
            sent.branch_id == branch_id,
            sent.kind == "payment",
            sent.file_id != file_id,  # reversed while this file was made: the next file carries it
            PaymentAllocation.reversed.is_(True),
            ~already,
        )
    )
    return _store_lines(session, file_id, branch_id, "reversal", candidates)


def _file_lines(session: DbSession, file_id: int) -> Iterator[Line]:
    """The file's lines from the database, streamed: payments first, then reversals, by date paid and payment."""
    receipt_number = func.coalesce(Receipt.number, SponsorPayment.receipt_number, "")
    query = (
        select(
            Member.kpj,
            PaymentAllocation.month,
            Payment.channel,
            receipt_number,
            Payment.paid_on,
            RemittanceLine.amount_idr,
            RemittanceLine.kind,
        )
        .join(PaymentAllocation, PaymentAllocation.id == RemittanceLine.allocation_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .join(Member, Member.id == PaymentAllocation.member_id)
        .outerjoin(Receipt, Receipt.payment_id == Payment.id)
        .outerjoin(SponsorPayment, SponsorPayment.id == Payment.sponsor_payment_id)
        .where(RemittanceLine.file_id == file_id)
        .order_by(RemittanceLine.kind, Payment.paid_on, Payment.id, PaymentAllocation.month)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for kpj, month, channel, number, paid_on, amount, kind in session.execute(query):
        yield Line(kpj or "", str(month), channel, number, paid_on, amount, kind)


def make_file(session: DbSession, branch_id: int, now: datetime, actor_id: int | None = None) -> RemittanceFile | None:
    """Make the branch's next file of what came since its last one; None (and no file) when nothing did."""
    mark = _lock_mark(session, branch_id)
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise NotFound(gettext("There is no branch %(id)s.", id=branch_id))
    covered = mark.covered_through
    new_mark = _new_mark(session, covered, now)
    sequence = (
        session.scalar(select(func.max(RemittanceFile.sequence)).where(RemittanceFile.branch_id == branch_id)) or 0
    ) + 1
    business_date = local_today(branch.timezone, now)
    made: RemittanceFile | None = None
    savepoint = session.begin_nested()
    record = RemittanceFile(
        branch_id=branch_id,
        sequence=sequence,
        business_date=business_date,
        name=file_name(branch.code, sequence, business_date),
        made_at=now,
        made_by_user_id=actor_id,
    )
    session.add(record)
    session.flush()
    count = _add_payment_lines(session, record.id, branch_id, covered)
    count += _add_reversal_lines(session, record.id, branch_id)
    if count == 0:
        savepoint.rollback()  # nothing new: no file (the mark still moves)
    else:
        written = write_file(branch.code, sequence, business_date, _file_lines(session, record.id))
        session.execute(
            update(RemittanceFile)
            .where(RemittanceFile.id == record.id)
            .values(
                content=written.content,
                sha256=written.sha256,
                body_sha256=written.body_sha256,
                line_count=written.line_count,
                total_idr=written.total_idr,
                size_bytes=len(written.content),
            )
        )
        savepoint.commit()
        audit.record(
            session,
            "remittance_file.made",
            "remittance_file",
            record.id,
            actor_id,
            branch_id=branch_id,
            name=record.name,
            line_count=written.line_count,
            total_idr=written.total_idr,
            sha256=written.sha256,
        )
        made = record
    mark.covered_through = new_mark
    mark.updated_at = now
    session.commit()
    if made is not None:
        session.refresh(made)
    return made


# --- reading and acknowledging ---------------------------------------------------------------------


@dataclass
class FileView:
    """A file as finance sees it: its figures, its acknowledgement, and whether that is overdue."""

    file: RemittanceFile
    acknowledgement_due_on: date
    overdue: bool
    acknowledged_by: str | None


def branch_of(session: DbSession, actor: StaffUser, branch_id: int) -> Branch:
    """The branch, if the actor may see its files: its finance or supervisor, or an admin."""
    if actor.role not in READERS:
        raise Forbidden(gettext("Only branch finance, a supervisor or an admin sees the remittance files."))
    branch = session.get(Branch, branch_id)
    if branch is None or (actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(gettext("There is no branch %(id)s among yours.", id=branch_id))
    return branch


def _views(session: DbSession, branch: Branch, files: list[RemittanceFile], now: datetime) -> list[FileView]:
    if not files:
        return []
    today = local_today(branch.timezone, now)
    first = min(f.business_date for f in files)
    holidays = holidays_for(session, branch, first, max(today, first) + timedelta(days=31))
    names: dict[int, str] = dict(
        (row[0], row[1])
        for row in session.execute(
            select(StaffUser.id, StaffUser.full_name).where(
                StaffUser.id.in_({f.acknowledged_by_user_id for f in files if f.acknowledged_by_user_id})
            )
        )
    )
    views = []
    for f in files:
        due = acknowledgement_due_on(f.business_date, holidays)
        overdue = f.acknowledged_at is None and today > due
        views.append(FileView(f, due, overdue, names.get(f.acknowledged_by_user_id or 0)))
    return views


def list_files(
    session: DbSession, actor: StaffUser, branch_id: int, now: datetime, offset: int = 0, limit: int = 50
) -> tuple[list[FileView], int]:
    """The branch's files, newest first, in pages, each with whether its acknowledgement is overdue."""
    offset = min(offset, 10**7)  # a page past every file is empty, not an integer overflow in SQL (a 500)
    branch = branch_of(session, actor, branch_id)
    where = RemittanceFile.branch_id == branch_id
    total = session.scalar(select(func.count()).select_from(RemittanceFile).where(where)) or 0
    files = list(
        session.scalars(
            select(RemittanceFile).where(where).order_by(RemittanceFile.sequence.desc()).offset(offset).limit(limit)
        )
    )
    return _views(session, branch, files, now), total


def overdue_files(session: DbSession, actor: StaffUser, branch_id: int, now: datetime) -> list[FileView]:
    """Every file of the branch not acknowledged after its deadline, oldest first (whatever page it is on)."""
    branch = branch_of(session, actor, branch_id)
    files = list(
        session.scalars(
            select(RemittanceFile)
            .where(RemittanceFile.branch_id == branch_id, RemittanceFile.acknowledged_at.is_(None))
            .order_by(RemittanceFile.sequence)
        )
    )
    return [view for view in _views(session, branch, files, now) if view.overdue]


def get_file(session: DbSession, actor: StaffUser, file_id: int, now: datetime) -> FileView:
    """One file of a branch the actor may see (another branch's is a 404)."""
    if actor.role not in READERS:
        raise Forbidden(gettext("Only branch finance, a supervisor or an admin sees the remittance files."))
    record = session.get(RemittanceFile, file_id)
    if record is None or (actor.role != Role.ADMIN and actor.branch_id != record.branch_id):
        raise NotFound(gettext("There is no remittance file %(id)s among your branch's.", id=file_id))
    branch = session.get(Branch, record.branch_id)
    assert branch is not None
    return _views(session, branch, [record], now)[0]


def file_content(session: DbSession, actor: StaffUser, file_id: int, now: datetime) -> tuple[RemittanceFile, bytes]:
    """The stored bytes of a file, exactly as made."""
    record = get_file(session, actor, file_id, now).file
    return record, record.content or b""


def acknowledge(session: DbSession, actor: StaffUser, file_id: int, reference: str, now: datetime) -> FileView:
    """Record that the national system acknowledged the file, with its reference; the same reference again
    changes nothing, another one is a 409."""
    if actor.role not in ACKNOWLEDGERS:
        if actor.role in READERS:
            get_file(session, actor, file_id, now)  # another branch's file stays a 404
        raise Forbidden(gettext("Only branch finance or an admin records the national system's acknowledgement."))
    reference = reference.strip()
    if not reference or len(reference) > MAX_REFERENCE:
        message = gettext(
            "Give the national system's acknowledgement reference (1-%(max)s characters).", max=MAX_REFERENCE
        )
        raise field_error("reference", message)
    view = get_file(session, actor, file_id, now)
    record = view.file
    if record.acknowledged_at is not None:
        if record.acknowledgement_reference == reference:
            return view
        raise Conflict(
            gettext(
                "File %(name)s was acknowledged on %(day)s with reference %(reference)s; an acknowledgement is not "
                "changed.",
                name=record.name,
                day=day_label(record.acknowledged_at.date()),
                reference=record.acknowledgement_reference,
            ),
            reason="already_acknowledged",
        )
    done = session.execute(
        update(RemittanceFile)
        .where(RemittanceFile.id == record.id, RemittanceFile.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_user_id=actor.id, acknowledgement_reference=reference)
    )
    if cast(CursorResult[Any], done).rowcount == 0:  # another request acknowledged it meanwhile: answer as after it
        session.rollback()
        return acknowledge(session, actor, file_id, reference, now)
    audit.record(
        session,
        "remittance_file.acknowledged",
        "remittance_file",
        record.id,
        actor.id,
        before={"acknowledged_at": None, "acknowledgement_reference": None},
        after={"acknowledged_at": now.isoformat(), "acknowledgement_reference": reference},
        name=record.name,
    )
    session.commit()
    session.refresh(record)
    return get_file(session, actor, file_id, now)


# --- the pick-up folder ----------------------------------------------------------------------------


def pickup_folder(pickup_dir: Path, branch_code: str) -> Path:
    """The branch's pick-up folder under ``REMITTANCE_PICKUP_DIR``."""
    return pickup_dir / branch_code


def write_pickup(session: DbSession, branch_id: int, pickup_dir: Path) -> list[Path]:
    """Write every file of the branch missing from its pick-up folder (``<pickup_dir>/<branch code>/``), each
    atomically (a temporary name, then renamed): a re-run writes what an earlier one did not. The files stay in the
    database too; the folder is an export for the national system's pick-up (REMITTANCE_PICKUP_DIR, one folder that
    every worker host writes to, e.g. a mount), nothing the app reads back."""
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise NotFound(gettext("There is no branch %(branch_id)s.", branch_id=branch_id))
    folder = pickup_folder(pickup_dir, branch.code)
    folder.mkdir(parents=True, exist_ok=True)
    present = set(os.listdir(folder))
    missing = [
        file_id
        for file_id, name in session.execute(
            select(RemittanceFile.id, RemittanceFile.name).where(RemittanceFile.branch_id == branch_id)
        )
        if name not in present
    ]
    written = []
    for file_id in missing:
        record = session.get(RemittanceFile, file_id)
        assert record is not None and record.content is not None
        target = folder / record.name
        partial = folder / f".{record.name}.part"
        partial.write_bytes(record.content)
        partial.replace(target)
        written.append(target)
    return written


def branch_by_code(session: DbSession, code: str) -> Branch:
    branch = session.scalar(select(Branch).where(Branch.code == code.strip().upper()))
    if branch is None:
        raise NotFound(gettext("There is no branch with code %(code)s.", code=repr(code)))
    return branch
