"""``pip install -e .`` as the README says, then a user's typed script: mypy must see gen61850.

setuptools implements an editable install either as a path entry (a ``.pth`` line) or as an
import hook; type checkers only follow the first. The test builds the editable wheel the way
pip does (PEP 660 ``build_editable``), installs it into an empty virtual environment and
type-checks a script that uses the generator, the generated code and the runtime.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

from tests.conftest import ROOT

USER_SCRIPT = """
from pathlib import Path

from gen61850.generated.sv.iec61850_9_2 import ASDU
from gen61850.generator.scl.model import load_scl
from gen61850.runtime.sv.frame import decode_frame
from gen61850.runtime.sv.stream import StreamConfig
from gen61850.runtime.xmpp.client import AcsiClient


def first_sv_id(raw: bytes) -> str:
    asdu: ASDU = decode_frame(raw).pdu.asdu[0]
    return asdu.svID


config: StreamConfig = StreamConfig.from_profile("F4800S2I4U4", "MU01")
devices = load_scl(Path("station.scd")).ieds
client_type: type[AcsiClient] = AcsiClient
"""


def _editable_wheel(out: Path) -> Path:
    build = (
        "import sys, setuptools.build_meta as b; "
        "print(b.build_editable(sys.argv[1], config_settings=None))"
    )
    done = subprocess.run(
        [sys.executable, "-c", build, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def test_an_editable_install_type_checks_for_a_user(tmp_path: Path) -> None:
    wheel = _editable_wheel(tmp_path / "wheel")
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    script = tmp_path / "user" / "script.py"
    script.parent.mkdir()
    script.write_text(textwrap.dedent(USER_SCRIPT))
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    checked = subprocess.run(
        [*mypy, "--python-executable", str(python), str(script)],
        cwd=script.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    imported = subprocess.run(
        [str(python), "-c", "import gen61850.runtime.sv.frame as m; print(m.__file__)"],
        cwd=script.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0 and imported.stdout.startswith(str(ROOT)), imported.stderr
