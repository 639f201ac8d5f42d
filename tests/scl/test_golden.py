"""Golden tests: our example SCL files → device packages and ``scl show`` trees, byte for byte.

Set ``GEN61850_UPDATE_GOLDEN=1`` to rewrite the golden files after an intended change, then
review the diff. The generated packages are also imported and type-checked (mypy --strict).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gen61850.generator.scl.device import device_packages
from gen61850.generator.scl.model import load_scl
from gen61850.generator.scl.show import model_lines

from .conftest import ROOT, SPECS

GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted(p.name for p in SPECS.iterdir() if p.suffix in (".scd", ".icd", ".cid"))
UPDATE = os.environ.get("GEN61850_UPDATE_GOLDEN") == "1"


def outputs(name: str) -> dict[str, str]:
    model = load_scl(SPECS / name, display_name=f"specs/scl/{name}", validate=False)
    assert model.errors == ()
    files = device_packages(model, source_name=f"specs/scl/{name}")
    files["show.txt"] = "\n".join(model_lines(model, data=True)) + "\n"
    return files


@pytest.mark.parametrize("name", EXAMPLES)
def test_matches_golden(name: str) -> None:
    files = outputs(name)
    folder = GOLDEN / Path(name).stem
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        for relative, text in files.items():
            target = folder / f"{relative}.golden"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    stored = {
        p.relative_to(folder).as_posix().removesuffix(".golden"): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*.golden"))
    }
    assert sorted(stored) == sorted(files)
    for relative, text in files.items():
        assert text == stored[relative], f"{name}: {relative} differs from its golden file"


def test_generation_is_deterministic() -> None:
    assert outputs("sv.scd") == outputs("sv.scd")


def test_each_example_covers_its_feature() -> None:
    assert "STREAM_MU_MSVCB01 = StreamConfig(" in outputs("sv.scd")["mu01/streams.py"]
    assert "EthernetAddress(" in outputs("goose.scd")["bay1/streams.py"]
    reports = outputs("reports.scd")["prot1/streams.py"]
    assert "buffered=True" in reports and "max=5" in reports and "LogControl(" in reports
    assert "class_ = 0" in outputs("enums.icd")["enums/enums.py"]
    assert "list[DA_A_Range]" in outputs("arrays.icd")["arrays/types.py"]
    assert "phsA: DO_S_CMV" in outputs("sdos.icd")["sdos/types.py"]
    assert "ed1ied/__init__.py" in outputs("ed1.icd")
    assert 'src_cb_name="gcbPos"' in outputs("inputs.scd")["bay2/streams.py"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("packages")
    packages: list[str] = []
    for name in EXAMPLES:
        model = load_scl(SPECS / name, validate=False)
        for relative, text in device_packages(model).items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
            packages.append(relative.split("/")[0])
    return root, sorted(set(packages))


def test_packages_import_and_work(written: tuple[Path, list[str]]) -> None:
    root, packages = written
    sys.path.insert(0, str(root))
    try:
        for package in packages:
            module = importlib.import_module(package)
            for part in ("enums", "types", "data", "model", "datasets", "streams", "mms", "refs"):
                importlib.import_module(f"{package}.{part}")
            module.Data()
        sdos = importlib.import_module("sdos")
        assert sdos.Data().MEAS.MMXU1.A.phsA.cVal.mag.f == 1.5
        datasets = importlib.import_module("mu01.datasets")
        channels = datasets.DS_MU_LLN0_PhsMeas1_Channels(ITCTR1_Amp=12.5)
        assert datasets.DS_MU_LLN0_PhsMeas1_Channels.decode(channels.encode()).ITCTR1_Amp == 12.5
        enums = importlib.import_module("enums")
        assert enums.Data().LD0.LLN0.Mod.stVal.name == "test_blocked"
    finally:
        sys.path.remove(str(root))
        for name in list(sys.modules):
            if name.split(".")[0] in packages:
                del sys.modules[name]


def test_packages_pass_mypy_strict(written: tuple[Path, list[str]]) -> None:
    root, packages = written
    args = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    for package in packages:
        args += ["-p", package]
    env = {**os.environ, "MYPYPATH": str(root)}
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_type_ids_that_make_the_same_identifier_get_distinct_classes(tmp_path: Path) -> None:
    text = (SPECS / "reports.scd").read_text()
    text = text.replace('<DO name="Hz" type="P_MV"/>', '<DO name="Hz" type="P-MV"/>')
    text = text.replace(
        "<DAType ",
        '<DOType id="P-MV" cdc="MV"><DA name="mag" fc="MX" '
        'bType="Struct" type="P_AnalogueValue"/></DOType>\n    <DAType ',
        1,
    )
    path = tmp_path / "clash.scd"
    path.write_text(text)
    model = load_scl(path, validate=False)
    assert model.errors == ()
    types = device_packages(model)["prot1/types.py"]
    assert "class DO_P_MV:" in types and "class DO_P_MV_2:" in types  # sorted: "P-MV" first
    assert "TotW: DO_P_MV_2 =" in types and "Hz: DO_P_MV =" in types
    namespace: dict[str, object] = {}
    exec(compile(types, "types.py", "exec"), namespace)
    assert namespace["DO_P_MV"] is not namespace["DO_P_MV_2"]
