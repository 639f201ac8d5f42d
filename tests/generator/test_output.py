"""Writing generated files and detecting drift."""

from __future__ import annotations

from pathlib import Path

from gen61850.generator.output import compare, write


def test_write_then_compare_is_clean(tmp_path: Path) -> None:
    files = {"a/b.py": "x = 1\n", "c.py": "y = 2\n"}
    assert write(files, tmp_path) == ["a/b.py", "c.py"]
    assert compare(files, tmp_path).clean
    assert write(files, tmp_path) == []  # unchanged files are not rewritten


def test_compare_lists_changed_and_missing(tmp_path: Path) -> None:
    write({"a.py": "x = 1\n"}, tmp_path)
    drift = compare({"a.py": "x = 2\n", "b.py": ""}, tmp_path)
    assert not drift.clean
    assert drift.lines() == ["changed: a.py", "missing: b.py"]


def test_a_file_the_target_no_longer_produces_is_stale(tmp_path: Path) -> None:
    write({"pkg/a.py": "x = 1\n", "pkg/b.py": "y = 1\n", "top.py": ""}, tmp_path)
    (tmp_path / "other.py").write_text("")  # the shared top folder is not owned
    files = {"pkg/a.py": "x = 1\n", "top.py": ""}
    drift = compare(files, tmp_path)
    assert drift.lines() == ["stale: pkg/b.py"]
    assert write(files, tmp_path) == ["pkg/b.py"]
    assert not (tmp_path / "pkg" / "b.py").exists()
    assert (tmp_path / "other.py").exists()
    assert compare(files, tmp_path).clean
