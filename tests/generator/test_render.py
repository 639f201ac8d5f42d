"""Rendering: strict templates, the fixed header, formatting, and located failures."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from gen61850.generator.render import (
    RenderError,
    environment,
    format_python,
    header,
    render_python,
)


def test_header_names_input_and_hash_without_time() -> None:
    text = header("specs/asn1/x.asn", b"abc")
    assert "specs/asn1/x.asn" in text
    assert "ba7816bf8f01cfea" in text  # sha256("abc") prefix
    assert text == header("specs/asn1/x.asn", b"abc")


def test_format_python_is_ruff_format() -> None:
    assert format_python("x = {'a':1}\n") == 'x = {"a": 1}\n'


def test_format_python_refuses_invalid_code() -> None:
    with pytest.raises(RenderError, match=re.escape("ruff could not format generated broken.py")):
        format_python("def (:\n", "broken.py")


def test_undefined_template_variable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "t.py.j2").write_text("x = {{ missing }}\n")
    env = environment(tmp_path)
    with pytest.raises(RenderError, match=re.escape("template t.py.j2: 'missing' is undefined")):
        render_python(env, "t.py.j2", {}, source_name="s", source_bytes=b"", filename="t.py")


def test_environment_trims_blocks(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{% for i in items %}\n  {{ i }}\n{% endfor %}\n")
    env = environment(tmp_path)
    assert isinstance(env.undefined, type) and issubclass(env.undefined, jinja2.StrictUndefined)
    assert env.get_template("t.j2").render(items=[1, 2]) == "  1\n  2\n"
