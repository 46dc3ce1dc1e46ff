"""Uploaded files that wait for a worker, kept in the database (never in a process's own folder).

The web app takes a large upload and answers 202; a worker, maybe on another host, imports it later. Both share only
PostgreSQL and Redis, so the file waits in ``stored_files``, named by a kind (what it is for, e.g.
``sponsor_import``) and a key (whose it is, e.g. the import's id). Three functions are the whole interface
(:func:`put`, :func:`get`, :func:`delete`), so an object store (S3 and the like) can take the table's place later
behind the same names, with ``<kind>/<key>`` as the object's name.

A file is stored once per kind and key: putting the same bytes again changes nothing (the sha256 tells), putting other
bytes under a taken name is an error. None of the functions commits: the caller's service does, with its own rows
(an import is marked done and its file deleted in one commit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import DbSession, Model

_SELECT_CONTENT = "SELECT content FROM stored_files WHERE kind = %s AND key = %s"
T = TypeVar("T")
MAX_BYTES = 64 * 1024 * 1024  # larger than any upload the app accepts (40 MB); bytea and SQLite BLOBs take 1 GB


class StoredFile(Model):
    """One uploaded file waiting for its worker."""

    __tablename__ = "stored_files"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # sponsor_import, national_import
    key: Mapped[str] = mapped_column(String(100))  # whose file: the import's id
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only by get()
    created_at: Mapped[datetime]


def put(session: DbSession, kind: str, key: str, content: bytes, now: datetime) -> bool:
    """Keep ``content`` as the file ``kind``/``key`` (flushed, not committed); False when it is kept already.

    Other bytes under a name that is taken are a ValueError: a name is one file for its whole life. Two callers
    putting the same file at once keep one (the unique name decides; the loser's insert is undone alone)."""
    if len(content) > MAX_BYTES:
        raise ValueError(f"{kind}/{key} is {len(content)} bytes, over the {MAX_BYTES} a stored file may be")
    digest = hashlib.sha256(content).hexdigest()
    kept = session.scalar(select(StoredFile.sha256).where(StoredFile.kind == kind, StoredFile.key == key))
    if kept is not None:
        if kept != digest:
            raise ValueError(f"{kind}/{key} is kept already with other content")
        return False
    try:
        with session.begin_nested():  # the same new file put at this moment by another caller: theirs is kept
            # A Core insert: an ORM object would hold the bytes in the session until the commit.
            session.execute(
                insert(StoredFile).values(
                    kind=kind, key=key, sha256=digest, size_bytes=len(content), content=content, created_at=now
                )
            )
    except IntegrityError:
        kept = session.scalar(select(StoredFile.sha256).where(StoredFile.kind == kind, StoredFile.key == key))
        if kept is None:
            raise
        if kept != digest:
            raise ValueError(f"{kind}/{key} is kept already with other content") from None
        return False
    return True


def get(session: DbSession, kind: str, key: str) -> bytes | None:
    """The bytes of the file ``kind``/``key``, or None when none is kept."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # In binary format: as text, bytea comes as hex twice its size and a 20 MB file peaked at 120 MB (40 so).
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor(binary=True) as cursor:
            cursor.execute(_SELECT_CONTENT, (kind, key))
            row = cursor.fetchone()
        return None if row is None else bytes(row[0])
    content: bytes | None = session.scalar(
        select(StoredFile.content).where(StoredFile.kind == kind, StoredFile.key == key)
    )
    return content


def delete(session: DbSession, kind: str, key: str) -> None:
    """Let the file ``kind``/``key`` go (not committed); nothing happens when none is kept."""
    session.execute(sql_delete(StoredFile).where(StoredFile.kind == kind, StoredFile.key == key))


def run_waiting_upload(
    session: DbSession, kind: str, key: str, old_file: Path | None, run: Callable[[bytes], T]
) -> T | None:
    """Run ``run`` on the file a queued import waits with: from the database, or (for one release) from
    ``old_file``, where the release before kept it in the instance folder, removed once run. None when no file
    waits (the import ended and let it go: a re-run does nothing). The read's transaction ends before ``run``
    (on SQLite one would hold the write lock through the import)."""
    content = get(session, kind, key)
    if content is None and old_file is not None and old_file.is_file():
        content = old_file.read_bytes()
    session.rollback()
    if content is None:
        return None
    done = run(content)
    if old_file is not None:
        old_file.unlink(missing_ok=True)
    return done
