"""Developer sessions: tests, fuzz, lint, typecheck, generate, check_generated, bench, demo.

``nox -s tests`` is the project's one test command: on a fresh Debian machine (as root) it
installs the Debian packages the real-part tests use, then the Python packages, then runs
pytest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

# Debian package -> a program it installs (present means installed).
DEBIAN_PACKAGES = {
    "prosody": "prosody",
    "tshark": "tshark",
    "tcpreplay": "tcpreplay",
    "iproute2": "ip",
    "openssl": "openssl",
    "ejabberd": "ejabberdctl",
    "jq": "jq",  # the README's tour pipes `sv decode --format jsonl` into it
}
BENCH_PACKAGES = {"valgrind": "valgrind"}  # bench_instructions counts with callgrind
# Debian package -> the system services it would start and enable; the tests and the demo run
# their own servers on free ports of 127.0.0.1 and never use (or leave behind) Debian's.
DEBIAN_SERVICES = {
    "prosody": ["prosody.service"],
    "ejabberd": ["ejabberd.service", "epmd.socket", "epmd.service"],
}
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
TYPED_PACKAGES = [
    "gen61850/generator",
    "gen61850/runtime",
    "gen61850/generated",
    "gen61850/cli",
    "gen61850/demo.py",
]


def ensure_debian_packages(session: nox.Session, extra: dict[str, str] | None = None) -> None:
    """apt-get install what is missing (root only; otherwise say what is missing), of
    ``DEBIAN_PACKAGES`` and ``extra`` (package -> the program it brings).

    Services the packages bring are neither started (a policy-rc.d says so for the
    install) nor enabled at boot afterwards.
    """
    wanted = {**DEBIAN_PACKAGES, **(extra or {})}
    missing = [pkg for pkg, program in wanted.items() if shutil.which(program) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.warn(f"not root or no apt-get: cannot install {' '.join(missing)}")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    with services_not_started(session):
        session.run("apt-get", "update", "-qq", external=True, env=env)
        session.run("apt-get", "install", "-y", "-qq", *missing, external=True, env=env)
    for package in missing:
        for service in DEBIAN_SERVICES.get(package, []):
            disable_service(session, service)


@contextlib.contextmanager
def services_not_started(session: nox.Session) -> Iterator[None]:
    """A policy-rc.d that forbids starting services while packages install (unless the
    machine has its own, which then decides)."""
    if POLICY_RC_D.exists():
        yield
        return
    POLICY_RC_D.write_text(
        "#!/bin/sh\n# gen61850: no service starts while nox installs\nexit 101\n"
    )
    POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        POLICY_RC_D.unlink()


def disable_service(session: nox.Session, unit: str) -> None:
    """Stop (where systemd runs) and disable at boot a unit a package just installed."""
    if shutil.which("systemctl"):
        running = Path("/run/systemd/system").is_dir()
        command = ["systemctl", "disable", *(["--now"] if running else []), unit]
    elif shutil.which("update-rc.d") and Path(f"/etc/init.d/{unit.split('.')[0]}").exists():
        command = ["update-rc.d", unit.split(".")[0], "disable"]
    else:
        return
    session.run(*command, external=True, success_codes=[0, 1])
    session.log(f"Debian's {unit} is installed but disabled (the tests run their own)")


def install_project(session: nox.Session, extras: str = "test") -> None:
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, real parts included (Prosody, tshark, veth pairs)."""
    ensure_debian_packages(session)
    install_project(session)
    session.run("pytest", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The fuzz tests, long: GEN61850_FUZZ_SCALE times the cases of the bounded test run.

    ``nox -s fuzz`` scales by 200; ``nox -s fuzz -- 1000 SEED`` picks the scale and the seed.
    """
    ensure_debian_packages(session)
    install_project(session)
    scale, seed = [*session.posargs, "200", "61850"][:2]
    env = {"GEN61850_FUZZ_SCALE": scale, "GEN61850_FUZZ_SEED": seed}
    session.run("pytest", "-m", "fuzz", "-p", "no:cacheprovider", env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check over the hand-written code; the layering contracts
    (import-linter, pyproject.toml): runtime and generated code never import the generator."""
    session.install("ruff==0.17.6", "import-linter==2.16")
    session.install("-e", ".", "--no-deps")
    paths = ["generator", "runtime", "gen61850", "tests", "benchmarks", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict for the generator, the runtime, the CLI and the generated code."""
    install_project(session)
    session.run("mypy", *TYPED_PACKAGES)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate generated/ from specs/."""
    install_project(session)
    session.run("gen61850", "generate")


@nox.session
def check_generated(session: nox.Session) -> None:
    """Fail when generated/ is out of date with specs/ or the templates."""
    install_project(session)
    session.run("gen61850", "generate", "--check")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks beside the peers, in one run, printed as tables with ratios."""
    ensure_debian_packages(session, BENCH_PACKAGES)
    install_project(session)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on the embedded default (see README)."""
    ensure_debian_packages(session)
    install_project(session, "plot")
    session.run("gen61850", "demo", *session.posargs)
