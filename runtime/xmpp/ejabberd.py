"""A local ejabberd with TLS for demos and tests, beside the Prosody of ``devserver``.

ejabberd is the XMPP server operators scale out (Erlang, clusters). ``EjabberdServer`` runs a
private node of the Debian package: its own configuration (never ``/etc/ejabberd``, whose
shaper limits every client to 3,000 B/s), the test CA and server certificate of
``make_certificates``, c2s on a free port of 127.0.0.1 with STARTTLS required and no shaper,
stream management and ping enabled. The node is started with ``erl`` directly (``ejabberdctl``
refuses root or drops to the ``ejabberd`` user) and without epmd: Erlang distribution listens
on a free port of 127.0.0.1 only, so nothing outlives the server. Accounts are created through
ejabberd's own control commands (one at a time, or in bulk from a XEP-0227 file).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from gen61850.runtime.xmpp.devserver import (
    DEFAULT_DOMAIN,
    DevServerError,
    LocalServer,
    free_port,
    make_certificates,
)

EJABBERDCTL = Path("/usr/sbin/ejabberdctl")


def erlang_libraries() -> str:
    """Where Debian's ejabberd keeps its Erlang applications (the ``ERL_LIBS`` of ejabberdctl)."""
    if EJABBERDCTL.is_file():
        found = re.search(r"^ERL_LIBS='([^']+)'", EJABBERDCTL.read_text(), re.MULTILINE)
        if found:
            return found[1]
    for candidate in sorted(Path("/usr/lib").glob("*-linux-gnu")):
        if any(candidate.glob("ejabberd-*")):
            return str(candidate)
    raise DevServerError("ejabberd is not installed (apt-get install ejabberd)")


def ejabberd_config(*, folder: Path, domain: str, port: int, require_tls: bool, resume: int) -> str:
    """The ejabberd.yml of a private test node (see ../shared/notes/ejabberd-testing.md)."""
    starttls = "starttls_required: true" if require_tls else "starttls: false"
    return (
        f"hosts: [{domain}]\n"
        "loglevel: info\n"  # the ready line is an info line
        "log_rotate_count: 0\n"
        f"certfiles: [{folder / 'server-combined.pem'}]\n"
        f"ca_file: {folder / 'ca.crt'}\n"
        "acme: {auto: false}\n"
        "s2s_access: none\n"
        "auth_method: internal\n"
        "auth_password_format: scram\n"
        "auth_cache_size: 100000\n"
        "max_fsm_queue: 100000\n"
        "listen:\n"
        f"  - {{port: {port}, ip: 127.0.0.1, module: ejabberd_c2s, {starttls},\n"
        "     shaper: none, backlog: 1024, max_stanza_size: 16777216}\n"
        "modules:\n"
        "  mod_disco: {}\n"
        "  mod_ping: {}\n"
        "  mod_roster: {}\n"
        f"  mod_stream_mgmt: {{resume_timeout: {resume}}}\n"
    )


@dataclass
class EjabberdServer(LocalServer):
    """An ejabberd node on 127.0.0.1 with TLS and a test CA, in a temporary folder of its own.

    Same interface as ``devserver.DevServer`` (Prosody): ``host``, ``port``, ``domain``,
    ``ca_file``, ``register``, ``register_many``, ``start``/``stop``, a context manager.
    """

    domain: str = DEFAULT_DOMAIN
    folder: Path | None = None
    require_tls: bool = True
    hibernation: int = 60  # XEP-0198 resumption window, seconds
    start_timeout: float = 30.0
    # In a cluster: the nodes share a cookie and find each other through one private epmd.
    cookie: str = ""
    epmd_port: int | None = None
    kind = "ejabberd"

    def __post_init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.ca_file = Path()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.node = f"g61ej{os.getpid()}x{secrets.token_hex(3)}@localhost"
        self.cookie = self.cookie or secrets.token_hex(16)
        self._dist_port = 0
        self._libs = ""
        self._config_file = Path()

    # ---------------------------------------------------------------- life cycle

    def start(self) -> EjabberdServer:
        """Make certificates, write the config, start the node and wait until c2s listens."""
        if shutil.which("erl") is None:
            raise DevServerError("ejabberd is not installed (apt-get install ejabberd)")
        self._libs = erlang_libraries()
        if self.folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gen61850-ejabberd-")
            self.folder = Path(self._tmp.name)
        self.folder = Path(self.folder).resolve()
        try:
            self._start_in(self.folder)
        except BaseException:  # a context manager whose __enter__ fails gets no __exit__
            self.stop()
            raise
        return self

    def _start_in(self, folder: Path) -> None:
        for sub in ("spool", "logs"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        # Erlang resolves node hosts itself: "localhost" is 127.0.0.1 even where the machine
        # has no /etc/hosts (a debootstrapped root), and nothing asks DNS.
        (folder / "inetrc").write_text(
            '{host, {127,0,0,1}, ["localhost"]}.\n{lookup, [file, native]}.\n', encoding="utf-8"
        )
        self.ca_file, cert, key = make_certificates(folder, self.domain)
        combined = folder / "server-combined.pem"
        combined.write_text(cert.read_text() + key.read_text(), encoding="utf-8")
        combined.chmod(0o600)
        self.port, self._dist_port = free_port(), free_port()
        config = folder / "ejabberd.yml"
        config.write_text(
            ejabberd_config(
                folder=folder,
                domain=self.domain,
                port=self.port,
                require_tls=self.require_tls,
                resume=self.hibernation,
            ),
            encoding="utf-8",
        )
        (folder / "logs" / "ejabberd.log").touch()
        self._config_file = config
        self.start_process()

    def start_process(self) -> None:
        """Start the node with the config written (again after ``stop_process``: same port,
        certificates and accounts, as a restarted server)."""
        assert self.folder is not None
        folder = self.folder
        config = self._config_file
        log = folder / "logs" / "ejabberd.log"
        offset = log.stat().st_size
        env = {
            **self._erl_env(),
            "EJABBERD_CONFIG_PATH": str(config),
            "EJABBERD_LOG_PATH": str(log),
        }
        self._process = subprocess.Popen(
            [
                "erl",
                "-sname",
                self.node,
                *self._erl_options(),
                "-noinput",
                "-mnesia",
                "dir",
                f'"{folder / "spool"}"',
                "-s",
                "ejabberd",
            ],
            cwd=folder / "spool",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready(log, offset)

    def stop_process(self) -> None:
        """SIGTERM to the node only (its folder stays for ``start_process``)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def _erl_env(self) -> dict[str, str]:
        assert self.folder is not None
        keep = ("PATH", "LANG", "LC_ALL", "TZ")
        cluster = {} if self.epmd_port is None else {"ERL_EPMD_PORT": str(self.epmd_port)}
        return {
            **{k: v for k, v in os.environ.items() if k in keep},
            **cluster,
            "ERL_LIBS": self._libs,
            "HOME": str(self.folder),
            "ERL_INETRC": str(self.folder / "inetrc"),
        }

    def _erl_options(self) -> list[str]:
        """Distribution on 127.0.0.1 only and this server's cookie; alone, on a port of its
        own with no epmd at all; in a cluster, registered with the cluster's private epmd."""
        alone = ["-erl_epmd_port", str(self._dist_port)] if self.epmd_port is None else []
        return [
            "-setcookie",
            self.cookie,
            "-kernel",
            "inet_dist_use_interface",
            "{127,0,0,1}",
            *alone,
            "-start_epmd",
            "false",
        ]

    def _wait_ready(self, log: Path, offset: int = 0) -> None:
        deadline = time.monotonic() + self.start_timeout
        ready = f"Start accepting TCP connections at 127.0.0.1:{self.port} for ejabberd_c2s"
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace")[offset:]
            if ready in text:
                return
            if self._process is not None and self._process.poll() is not None:
                break
            time.sleep(0.05)
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-8:])
        self.stop()
        raise DevServerError(f"ejabberd did not start on port {self.port}:\n{tail}")

    def control(self, *command: str) -> subprocess.CompletedProcess[str]:
        """An ejabberdctl command against this node (what ``ejabberdctl COMMAND`` runs)."""
        controller = f"g61ctl{secrets.token_hex(4)}@localhost"
        return subprocess.run(
            [
                "erl",
                "-sname",
                controller,
                "-hidden",
                "-noinput",
                *self._erl_options(),
                "-dist_listen",
                "false",
                "-s",
                "ejabberd_ctl",
                "-extra",
                self.node,
                *command,
            ],
            env=self._erl_env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def _control_ok(self, what: str, *command: str) -> str:
        done = self.control(*command)
        if done.returncode != 0:
            raise DevServerError(f"{what} failed: {done.stdout.strip() or done.stderr.strip()}")
        return done.stdout

    def register(self, user: str, password: str) -> str:
        """Create (or reset) account ``user``; returns its bare JID."""
        done = self.control("register", user, self.domain, password)
        if done.returncode != 0:
            if "conflict" not in done.stdout + done.stderr:
                raise DevServerError(f"ejabberd register {user} failed: {done.stdout.strip()}")
            self._control_ok(f"ejabberd unregister {user}", "unregister", user, self.domain)
            self._control_ok(f"ejabberd register {user}", "register", user, self.domain, password)
        return f"{user}@{self.domain}"

    def register_many(self, accounts: dict[str, str]) -> list[str]:
        """Create many accounts in one command (a XEP-0227 import); returns their bare JIDs."""
        assert self.folder is not None
        users = "".join(
            f"<user name={quoteattr(user)} password={quoteattr(password)}/>"
            for user, password in accounts.items()
        )
        pie = self.folder / "accounts.xml"
        descriptor = os.open(pie, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(
                "<?xml version='1.0' encoding='UTF-8'?>"
                f"<server-data xmlns='urn:xmpp:pie:0'><host jid={quoteattr(self.domain)}>"
                f"{users}</host></server-data>"
            )
        try:
            self._control_ok("ejabberd import_piefxis", "import_piefxis", str(pie))
        finally:
            pie.unlink()
        return [f"{user}@{self.domain}" for user in accounts]

    @property
    def log_text(self) -> str:
        assert self.folder is not None
        return (self.folder / "logs" / "ejabberd.log").read_text(encoding="utf-8", errors="replace")


class EjabberdCluster:
    """``size`` ejabberd nodes on one machine joined into one cluster (one XMPP domain).

    A private ``epmd`` on a free port of 127.0.0.1 lets the nodes find each other (the
    epmd-less form of a single node cannot cluster two nodes on one address); every node
    after the first joins the first with ``join_cluster``, which replaces its tables by the
    first node's: accounts registered on any node exist on all. Each node has its own c2s
    port, folder and test CA; stopping stops the nodes, then epmd.
    """

    def __init__(self, size: int = 2, *, domain: str = DEFAULT_DOMAIN, hibernation: int = 60):
        if size < 2:
            raise DevServerError("a cluster needs at least 2 nodes")
        self.size = size
        self.domain = domain
        self.hibernation = hibernation
        self.nodes: list[EjabberdServer] = []
        self._epmd: subprocess.Popen[bytes] | None = None

    def start(self) -> EjabberdCluster:
        if shutil.which("epmd") is None:
            raise DevServerError("epmd is not installed (apt-get install ejabberd)")
        try:
            port = free_port()
            self._epmd = subprocess.Popen(
                ["epmd", "-port", str(port), "-address", "127.0.0.1"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            cookie = secrets.token_hex(16)
            for _ in range(self.size):
                node = EjabberdServer(
                    domain=self.domain,
                    hibernation=self.hibernation,
                    cookie=cookie,
                    epmd_port=port,
                )
                self.nodes.append(node)
                node.start()
            first = self.nodes[0]
            for node in self.nodes[1:]:
                node._control_ok(f"join_cluster {node.node}", "join_cluster", first.node)
            members = first._control_ok("list_cluster", "list_cluster")
            missing = [n.node for n in self.nodes if n.node not in members]
            if missing:
                raise DevServerError(f"ejabberd cluster: {', '.join(missing)} did not join")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        self.nodes = []
        epmd, self._epmd = self._epmd, None
        if epmd is not None and epmd.poll() is None:
            epmd.terminate()
            try:
                epmd.wait(timeout=5)
            except subprocess.TimeoutExpired:
                epmd.kill()
                epmd.wait(timeout=5)

    def __enter__(self) -> EjabberdCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["EjabberdCluster", "EjabberdServer", "ejabberd_config", "erlang_libraries"]
