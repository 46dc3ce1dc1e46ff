"""Every `scripts/<name>.sh` that the benchmarks, drills, tests, Makefile and README tell someone to run exists:
`make bench` on a new machine ran scripts/ensure_postgres.sh, gone since it became ensure_system_packages.sh."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMED = re.compile(r"scripts/[A-Za-z0-9_]+\.(?:sh|py)")


def test_every_script_that_is_named_exists() -> None:
    sources = [ROOT / "Makefile", ROOT / "README.md"]
    for folder in ("bench", "drill", "tests", "scripts", "deploy"):
        sources += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sh", ".md") and p != Path(__file__)]
    named = {(name, source.relative_to(ROOT)) for source in sources for name in NAMED.findall(source.read_text())}

    assert named, "the pattern finds nothing: it is broken"
    missing = sorted(f"{name} (named in {source})" for name, source in named if not (ROOT / name).is_file())
    assert missing == []
