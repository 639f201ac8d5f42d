"""Shared fixtures: where the corpus is, and skips for parts this machine lacks."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gen61850.runtime.net.netns import VethPair
from gen61850.runtime.net.packet import NetError

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus``; tests that need it skip with a reason when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def sv_capture(corpus: Path) -> Path:
    """The real merging unit capture (10,161 SV frames)."""
    return corpus / "pcap" / "SV_Normal_Traffic.cap"


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, raw sockets)")


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (nox -s tests installs it)")
    return path


@contextlib.contextmanager
def veth_pair(prefix: str, **options: int) -> Iterator[VethPair]:
    """A ``VethPair`` named for this process (two runs on one host never share namespaces);
    skips with the reason when this machine cannot create network namespaces."""
    require_root()
    require_program("ip")
    name = f"{prefix}{os.getpid() % 36**3:03x}"
    pair = VethPair(name, **options)
    try:
        pair.__enter__()
    except NetError as error:
        pytest.skip(f"cannot create network namespaces or veth pairs here: {error}")
    try:
        yield pair
    finally:
        pair.__exit__(None, None, None)


# Fuzz runs: every fuzz test draws ``fuzz_budget(n)`` cases; ``nox -s tests`` runs the seeded,
# bounded default, ``nox -s fuzz`` sets GEN61850_FUZZ_SCALE (and GEN61850_FUZZ_SEED) for a
# long run. A failure prints the seed so the run can be repeated.
FUZZ_SCALE = float(os.environ.get("GEN61850_FUZZ_SCALE", "1"))
FUZZ_SEED = int(os.environ.get("GEN61850_FUZZ_SEED", "61850"))


def fuzz_budget(cases: int) -> int:
    """How many cases a fuzz test runs: ``cases`` by default, scaled for a long run."""
    return max(1, int(cases * FUZZ_SCALE))


@pytest.fixture
def fuzz_rng(request: pytest.FixtureRequest) -> random.Random:
    """A seeded random source per test (the seed and the test's name fix every case)."""
    return random.Random(f"{FUZZ_SEED}:{request.node.nodeid}")
