"""Every real SCL file in the corpus: every IED becomes an importable, typed package; what is
left out is located and recorded in the package."""

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

from .conftest import ROOT

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
LOCATED = re.compile(r"^.+:[1-9]\d*: (error|warning): .+")
# The exit status of ``scl check`` (0 nothing left out, 1 elements left out, 2 nothing usable).
STATUS = {
    "BCU_402T.scd": 0,
    "SCD_Test.scl": 1,  # FCDAs naming an LN that is not there
    "SCD_WRONG.scd": 1,  # and a DAType without id, a DA of a missing DAType
    "communication.scd": 0,
    "complexModel.icd": 0,
    "invalid2007B.scd": 0,  # no IED; the Substation without name is a schema warning
    "sampledvaluecontrol.scd": 1,
    "scd_create_controlblock_network_configuration.xml": 0,
    "scd_monitoring_lsvs_lgos.xml": 1,
    "simpleIO_direct_control_goose.cid": 0,
    "sv.icd": 0,
    "templates.scd": 1,  # a DA Struct without type
}


def test_the_list_is_the_corpus(corpus: Path) -> None:
    assert sorted(p.name for p in (corpus / "scl").iterdir()) == sorted(CORPUS_FILES)


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file(corpus: Path, tmp_path: Path, name: str) -> None:
    model = load_scl(corpus / "scl" / name, xsd=[corpus / "scl-xsd"])
    assert model.status == STATUS[name], [str(d) for d in model.errors]
    assert all(LOCATED.match(str(d)) for d in model.diagnostics), model.diagnostics
    assert len(model.ieds) == model.ied_sections  # every IED of every file survives
    if not model.ieds:  # templates.scd: DataTypeTemplates only
        assert model.typedefs.lnode_types or name == "invalid2007B.scd"
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
            lost = model.left_out(module.IED.name)
            assert [what for what, _ in module.LEFT_OUT] == [d.cost for d in lost]
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
    path = corpus / "scl" / "SCD_WRONG.scd"
    model = load_scl(path, xsd=[corpus / "scl-xsd"])
    wrong = [str(d) for d in model.diagnostics]
    assert (
        f"{path}:7465: error: DA 'hstRangeC' of DOType 'HST' left out: DAType 'Cell' not found"
        in wrong
    )
    assert f"{path}:7786: error: DAType without id left out" in wrong
    # the official schema says the same at those lines: said once, by the reader
    assert [m for m in wrong if ":7465:" in m or ":7786:" in m] == [
        f"{path}:7465: error: DA 'hstRangeC' of DOType 'HST' left out: DAType 'Cell' not found",
        f"{path}:7786: error: DAType without id left out",
    ]
    assert model.schema == "SCL2007B4"
