"""The reader's fast paths give exactly what its exact, per-element readers give.

Hot groups of elements (type definitions, data sets) are first read by code for the common,
correct case that declines at anything else (``guard.fast``); the exact readers then read
the group and report what they find. Every real file, our examples and mutants of them are
loaded twice, fast paths on (``STRICT``: a fast path that raises fails the test instead of
declining) and off, and the models and diagnostics must be the same.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gen61850.generator.scl import guard
from gen61850.generator.scl.model import SclModel, load_scl
from tests.conftest import fuzz_budget
from tests.scl.test_fuzz import MUTATIONS, _sources, huge_attribute


def _summary(model: SclModel) -> list[str]:
    """What a user gets from a model, as text (``repr``: NaN values compare equal)."""
    graph = model.type_graph
    return [
        repr(model.ieds),
        "\n".join(str(d) for d in model.diagnostics),
        repr(model.typedefs),
        repr(sorted(model.streams.items(), key=repr)),
        repr(sorted(model.incomplete)),
        repr(sorted((k, sorted(v)) for k, v in model.ln_types.items())),
        repr((model.status, model.edition, sorted(model.ied_lines.items()), model.ied_sections)),
        repr((sorted(graph.depth.items()), sorted(graph.cut))),
    ]


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    monkeypatch.setattr(guard, "STRICT", True)
    fast = _summary(load_scl(path, validate=False))
    monkeypatch.setattr(guard, "FAST", False)
    exact = _summary(load_scl(path, validate=False))
    monkeypatch.setattr(guard, "FAST", True)
    return fast, exact


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.name)
def test_fast_paths_read_real_files_as_the_exact_readers(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, exact = _both(source, monkeypatch)
    assert fast == exact


@pytest.mark.fuzz
def test_fast_paths_read_mutants_as_the_exact_readers(
    fuzz_rng: random.Random, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _sources()
    mutations = [m for m in MUTATIONS if m is not huge_attribute]  # (50 MB: slow, no types)
    for case in range(fuzz_budget(4 * len(mutations))):
        source = fuzz_rng.choice(sources)
        mutation = mutations[case % len(mutations)]
        path = tmp_path / f"case{case}{source.suffix}"
        path.write_bytes(mutation(fuzz_rng, source.read_bytes()))
        fast, exact = _both(path, monkeypatch)
        assert fast == exact, f"case {case}: {mutation.__name__} of {source.name} ({path})"
        path.unlink()
