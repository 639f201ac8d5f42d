"""Benchmarks beside the peers; run all with ``nox -s bench`` or ``python -m benchmarks``."""
