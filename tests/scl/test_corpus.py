"""Every real SCL file in the corpus: generates importable, typed packages, or fails located."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.model import load_scl

from .conftest import KNOWN_BAD, ROOT

CORPUS_FILES = (
    "BCU_402T.scd",
    "SCD_Test.scl",
    "SCD_WRONG.scd",
    "communication.scd",
    "complexModel.icd",
    "invalid2007B.scd",
    "sampledvaluecontrol.scd",
    "scd_create_controlblock_network_configuration.xml",
    "scd_monitoring_lsvs_lgos.xml",
    "simpleIO_direct_control_goose.cid",
    "sv.icd",
    "templates.scd",
)
LOCATED = re.compile(r"^.+:\d+: error: .+")


def test_the_list_is_the_corpus(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "scl").iterdir()) == sorted(CORPUS_FILES)


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file(corpus: Path, tmp_path: Path, name: str) -> None:
    model = load_scl(corpus / "scl" / name)
    if name in KNOWN_BAD:
        assert model.errors, f"{name} should be refused"
        assert all(LOCATED.match(str(d)) for d in model.errors)
        return
    assert model.errors == (), [str(d) for d in model.errors]
    if not model.ieds:  # templates.scd: DataTypeTemplates only
        assert model.typedefs.lnode_types
        return
    files = device_packages(model)
    assert files == device_packages(model)
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    packages = sorted({relative.split("/")[0] for relative in files})
    assert len(packages) == len(model.ieds)
    sys.path.insert(0, str(tmp_path))
    try:
        for package in packages:
            module = importlib.import_module(package)
            for part in ("datasets", "streams", "mms"):
                importlib.import_module(f"{package}.{part}")
            assert module.IED.name in {i.name for i in model.ieds}
            module.Data()
            assert module.MMS_NAMES
    finally:
        sys.path.remove(str(tmp_path))
        for loaded in list(sys.modules):
            if loaded.split(".")[0] in packages:
                del sys.modules[loaded]
    # Every generated corpus package is type-checked: mypy takes seconds even on 7 MB.
    args = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    for package in packages:
        args += ["-p", package]
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_known_bad_messages(corpus: Path) -> None:
    wrong = [str(d) for d in load_scl(corpus / "scl" / "SCD_WRONG.scd").errors]
    path = corpus / "scl" / "SCD_WRONG.scd"
    assert f"{path}:7465: error: 'hstRangeC': DAType 'Cell' not found" in wrong
    assert f"{path}:7787: error: DAType without id" in wrong
