"""Developer sessions: tests, fuzz, lint, typecheck, generate, check_generated, bench, demo.

``nox -s tests`` is the project's one test command: on a fresh Debian machine (as root) it
installs the Debian packages the real-part tests use, then the Python packages, then runs
pytest.
"""

from __future__ import annotations

import os
import shutil

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
}
TYPED_PACKAGES = [
    "gen61850/generator",
    "gen61850/runtime",
    "gen61850/generated",
    "gen61850/cli",
    "gen61850/demo.py",
]


def ensure_debian_packages(session: nox.Session) -> None:
    """apt-get install what is missing (root only; otherwise say what is missing)."""
    missing = [pkg for pkg, program in DEBIAN_PACKAGES.items() if shutil.which(program) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.warn(f"not root or no apt-get: cannot install {' '.join(missing)}")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True, env=env)


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
    ensure_debian_packages(session)
    install_project(session)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job on the embedded default (see README)."""
    ensure_debian_packages(session)
    install_project(session, "plot")
    session.run("gen61850", "demo", *session.posargs)
