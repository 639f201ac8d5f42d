"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in one process, in name order.

``python -m benchmarks codec sv`` runs only the named ones.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"unknown benchmarks: {', '.join(unknown)} (known: {', '.join(names)})")
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        try:
            importlib.import_module(f"benchmarks.bench_{name}").main()
        except Exception:  # one broken benchmark must not hide the others' tables
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


raise SystemExit(main(sys.argv[1:]))
