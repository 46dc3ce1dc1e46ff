"""core/blobs.py: a file kept under a kind and a key, read back byte for byte (20 MB too, the largest upload the
API takes), stored once however often it is put, never replaced by other bytes, and let go."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from core import blobs
from core.guards import MAX_UPLOAD_BYTES
from tests.factories import NOW


def stored(session) -> int:
    return int(session.scalar(select(func.count()).select_from(blobs.StoredFile)) or 0)


def test_a_file_of_the_largest_upload_size_is_kept_and_read_back_byte_for_byte(session):
    content = os.urandom(MAX_UPLOAD_BYTES)  # random: nothing for TOAST to compress

    assert blobs.put(session, "sponsor_import", "7", content, NOW) is True
    session.commit()

    assert blobs.get(session, "sponsor_import", "7") == content
    size = session.scalar(select(blobs.StoredFile.size_bytes).where(blobs.StoredFile.key == "7"))
    assert size == MAX_UPLOAD_BYTES


def test_the_same_file_put_twice_is_kept_once_and_other_bytes_cannot_take_its_name(session):
    assert blobs.put(session, "national_import", "1", b"kpj,nik\n", NOW) is True
    assert blobs.put(session, "national_import", "1", b"kpj,nik\n", NOW) is False
    with pytest.raises(ValueError, match="other content"):
        blobs.put(session, "national_import", "1", b"something else\n", NOW)
    blobs.put(session, "sponsor_import", "1", b"kpj,nik\n", NOW)  # another kind: another file
    session.commit()

    assert stored(session) == 2
    assert blobs.get(session, "national_import", "2") is None


def test_a_file_let_go_is_gone_and_letting_go_of_none_is_no_error(session):
    blobs.put(session, "sponsor_import", "3", b"nik\n", NOW)
    session.commit()

    blobs.delete(session, "sponsor_import", "3")
    blobs.delete(session, "sponsor_import", "4")
    session.commit()

    assert blobs.get(session, "sponsor_import", "3") is None
    assert stored(session) == 0
