"""Run every benchmark: `make bench`, or `.venv/bin/python -m bench [NAME ...]` for some of them.

Each benchmark module has ``main(argv) -> int`` and runs with its defaults here; run a module on its own
(`python -m bench.contributions --help`) to change its sizes.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("contributions", "webhooks", "chase_list")  # modules of this package, run in this order


def main(argv: list[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or list(BENCHMARKS)
    if any(name in ("-h", "--help") for name in names):
        print(__doc__.strip())
        print("\nbenchmarks: " + ", ".join(BENCHMARKS))
        return 0
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"bench: unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    worst = 0
    for name in names:
        print(f"=== bench.{name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        worst = max(worst, module.main([]))
    return worst


if __name__ == "__main__":
    sys.exit(main())
