"""Every benchmark writes its run's output through one helper, bench/harness.py ``write_result``, to
bench/results/<name>-<UTC timestamp>.txt (each module had its own copy of those lines, with its own stamp), and
migrates and gives back its connections through the harness's ``migrate`` and ``dispose``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bench import harness

ROOT = Path(__file__).resolve().parent.parent
NOT_BENCHMARKS = {"__init__", "__main__", "harness", "endpoints"}
OWN_COPIES = ("RESULTS", "def migrate(", "def _dispose(", "def dispose(")  # what only bench/harness.py may hold


def test_a_result_goes_to_its_name_and_utc_time_and_is_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(harness, "RESULTS", tmp_path / "results")
    jakarta = timezone(timedelta(hours=7))

    path = harness.write_result("chase_list", datetime(2026, 12, 6, 4, 5, 6, tzinfo=jakarta), "table\nvalid")
    naive = harness.write_result("outbox", datetime(2026, 12, 5, 21, 5, 6), "ok\n")

    assert path == tmp_path / "results" / "chase_list-20261205-210506.txt"  # the UTC time, not Jakarta's
    assert path.read_text() == "table\nvalid\n"
    assert naive.name == "outbox-20261205-210506.txt" and naive.read_text() == "ok\n"
    assert "table\nvalid" in capsys.readouterr().out


def test_details_go_to_the_file_after_the_text_and_are_not_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(harness, "RESULTS", tmp_path / "results")

    path = harness.write_result("webhooks", datetime(2026, 12, 5, 21, 5, 6, tzinfo=UTC), "table", "--- wrk output ---")

    assert path.read_text() == "table\n--- wrk output ---\n"
    printed = capsys.readouterr().out
    assert "table" in printed and "wrk output" not in printed


def test_every_benchmark_writes_and_sets_up_through_the_harness() -> None:
    modules = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem not in NOT_BENCHMARKS)
    own_copies = [
        name
        for name in modules
        if "write_result(" not in (text := (ROOT / "bench" / f"{name}.py").read_text())
        or any(copy in text for copy in OWN_COPIES)
    ]

    assert {"chase_list", "contributions", "outbox", "reconcile", "webhooks"} <= set(modules)
    assert own_copies == []


def test_the_result_title_names_what_when_and_which_code() -> None:
    title = harness.result_title("outbox delivery", datetime(2026, 12, 5, 21, 5, tzinfo=UTC), "abc:123")

    assert title.startswith("iuran benchmark: outbox delivery — 2026-12-05 21:05 UTC, commit ")
    assert "(app code abc:123)" in title
