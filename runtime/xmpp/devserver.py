"""A local Prosody with TLS for demos and tests: own config, test CA, accounts, in a temp folder.

``DevServer`` writes a Prosody configuration of its own (never Debian's), makes a test CA and
an EC P-256 server certificate with openssl, starts ``prosody -F`` on a free port of
127.0.0.1, waits for the ``Activated service 'c2s'`` log line, registers accounts with
prosodyctl and stops Prosody by its pid. Use it as a context manager::

    with DevServer() as server:
        server.register("ied1", "secret")
        print(server.host, server.port, server.ca_file)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from gen61850.runtime.xmpp.errors import LocalError

DEFAULT_DOMAIN = "iec61850.test"


class DevServerError(LocalError):
    """Prosody or openssl is missing, or Prosody did not come up (its log tail is included)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(args: list[str], what: str, cwd: Path | None = None) -> None:
    completed = subprocess.run(args, capture_output=True, text=True, check=False, cwd=cwd)
    if completed.returncode != 0:
        raise DevServerError(
            f"{what} failed: {completed.stderr.strip() or completed.stdout.strip()}"
        )


def make_certificates(folder: Path, domain: str) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate (EC P-256, SAN domain, localhost, 127.0.0.1).

    Returns (ca certificate, server certificate, server key).
    """
    if shutil.which("openssl") is None:
        raise DevServerError("openssl is not installed")
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "server.ext"
    _run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key)],
        "openssl CA key",
    )
    _run(
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            str(ca_key),
            "-sha256",
            "-days",
            "30",
            "-subj",
            "/CN=gen61850 test CA",
            "-out",
            str(ca_crt),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        "openssl CA certificate",
    )
    _run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        "openssl server key",
    )
    _run(
        ["openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={domain}", "-out", str(csr)],
        "openssl server request",
    )
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyAgreement\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName=DNS:{domain},DNS:localhost,IP:127.0.0.1\n",
        encoding="utf-8",
    )
    _run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_crt),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-days",
            "30",
            "-sha256",
            "-extfile",
            str(ext),
            "-out",
            str(crt),
        ],
        "openssl server certificate",
    )
    for path in (ca_key, key):
        path.chmod(0o600)
    return ca_crt, crt, key


def prosody_config(
    *,
    folder: Path,
    domain: str,
    port: int,
    cert: Path | None,
    key: Path | None,
    require_tls: bool = True,
    hibernation: int = 60,
) -> str:
    """The Prosody configuration text (see ../shared/notes/xmpp-testing.md for each setting)."""
    ssl = f'ssl = {{ certificate = "{cert}"; key = "{key}"; }}\n' if cert and key else ""
    return (
        "run_as_root = true\n"
        "daemonize = false\n"
        f'data_path = "{folder / "data"}"\n'
        f'certificates = "{folder}"\n'
        f'pidfile = "{folder / "prosody.pid"}"\n'
        f'log = {{ info = "{folder / "prosody.log"}" }}\n'
        'interfaces = { "127.0.0.1" }\n'
        f"c2s_ports = {{ {port} }}\n"
        "c2s_direct_tls_ports = { }\n"
        'modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "smacks"; "presence" }\n'
        'modules_disabled = { "s2s"; "offline"; "register" }\n'
        f"c2s_require_encryption = {'true' if require_tls else 'false'}\n"
        'authentication = "internal_hashed"\n'
        "network_settings = { nagle = false; min_wait = 0.00001 }\n"
        "smacks_max_unacked_stanzas = 5\n"
        f"smacks_hibernation_time = {hibernation}\n"
        "c2s_stanza_size_limit = 16*1024*1024\n"
        'limits = { c2s = { rate = "100mb/s"; burst = "16mb" } }\n'
        + ssl
        + f'VirtualHost "{domain}"\n'
        + (f'    ssl = {{ certificate = "{cert}"; key = "{key}"; }}\n' if cert and key else "")
    )


_PLAIN_USER = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
PROSODY_ITERATIONS = 10000  # mod_auth_internal_hashed's default_iteration_count


def _prosody_encode(name: str) -> str:
    """Prosody's file-name encoding: every non-alphanumeric octet as %xx (lower case)."""
    return "".join(c if c.isascii() and c.isalnum() else f"%{ord(c):02x}" for c in name)


def _prosody_account(password: str) -> str:
    """An ``internal_hashed`` account record: SCRAM-SHA-1 stored and server keys (RFC 5802)."""
    salt = str(uuid.uuid4())
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), PROSODY_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha1").digest()
    stored_key = hashlib.sha1(client_key).hexdigest()
    server_key = hmac.new(salted, b"Server Key", "sha1").hexdigest()
    return (
        "return {\n"
        f'\t["iteration_count"] = {PROSODY_ITERATIONS};\n'
        f'\t["server_key"] = "{server_key}";\n'
        f'\t["stored_key"] = "{stored_key}";\n'
        f'\t["salt"] = "{salt}";\n'
        "};\n"
    )


class XmppDevServer(Protocol):
    """What the tests, the demo and ``xmpp dev-server`` use of a local XMPP server."""

    kind: str
    host: str
    port: int
    domain: str
    ca_file: Path
    folder: Path | None

    def start(self) -> XmppDevServer: ...
    def stop(self) -> None: ...
    def stop_process(self) -> None: ...
    def start_process(self) -> None: ...
    def register(self, user: str, password: str) -> str: ...
    def register_many(self, accounts: dict[str, str]) -> list[str]: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def log_text(self) -> str: ...


SERVER_KINDS = ("prosody", "ejabberd")


def dev_server(kind: str = "prosody", **options: Any) -> XmppDevServer:
    """A Prosody (``DevServer``) or an ejabberd (``EjabberdServer``), not started yet."""
    if kind == "prosody":
        return DevServer(**options)
    if kind == "ejabberd":
        from gen61850.runtime.xmpp.ejabberd import EjabberdServer

        return EjabberdServer(**options)
    raise DevServerError(f"unknown XMPP server {kind!r} (one of {', '.join(SERVER_KINDS)})")


class LocalServer:
    """The life cycle a local XMPP server shares (Prosody's ``DevServer``, ejabberd's
    ``EjabberdServer``): stop it and drop its temporary folder, a context manager, its pid.
    A subclass sets ``folder``, ``_tmp`` and ``_process`` and defines ``start`` and
    ``stop_process``."""

    folder: Path | None
    _tmp: tempfile.TemporaryDirectory[str] | None
    _process: subprocess.Popen[bytes] | None

    def start(self) -> Self:
        raise NotImplementedError

    def stop_process(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server process and remove the temporary folder."""
        self.stop_process()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self.folder = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None


@dataclass
class DevServer(LocalServer):
    """A Prosody on 127.0.0.1 with TLS and a test CA, in a temporary folder of its own."""

    domain: str = DEFAULT_DOMAIN
    folder: Path | None = None
    require_tls: bool = True
    hibernation: int = 60
    start_timeout: float = 15.0
    kind = "prosody"

    def __post_init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.ca_file = Path()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._config = Path()

    # ---------------------------------------------------------------- life cycle

    def start(self) -> DevServer:
        """Make certificates, write the config, start Prosody and wait until c2s is active."""
        for program in ("prosody", "prosodyctl"):
            if shutil.which(program) is None:
                raise DevServerError(f"{program} is not installed (apt-get install prosody)")
        if self.folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gen61850-prosody-")
            self.folder = Path(self._tmp.name)
        # Prosody reads relative paths against its own folder, not ours: give it absolute ones.
        self.folder = Path(self.folder).resolve()
        try:
            self._start_in(self.folder)
        except BaseException:  # a context manager whose __enter__ fails gets no __exit__
            self.stop()
            raise
        return self

    def _start_in(self, folder: Path) -> None:
        (folder / "data").mkdir(parents=True, exist_ok=True)
        cert = key = None
        if self.require_tls:
            self.ca_file, cert, key = make_certificates(folder, self.domain)
        self.port = free_port()
        self._config = folder / "prosody.cfg.lua"
        self._config.write_text(
            prosody_config(
                folder=folder,
                domain=self.domain,
                port=self.port,
                cert=cert,
                key=key,
                require_tls=self.require_tls,
                hibernation=self.hibernation,
            ),
            encoding="utf-8",
        )
        (folder / "prosody.log").touch()
        self.start_process()

    def start_process(self) -> None:
        """Start Prosody with the config written (again after ``stop_process``: same port,
        certificates and accounts, as a restarted server)."""
        assert self.folder is not None
        log = self.folder / "prosody.log"
        offset = log.stat().st_size
        self._process = subprocess.Popen(
            ["prosody", "-F", "--config", str(self._config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready(log, offset)

    def stop_process(self) -> None:
        """Stop the Prosody process only (its folder stays for ``start_process``)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def _wait_ready(self, log: Path, offset: int = 0) -> None:
        deadline = time.monotonic() + self.start_timeout
        ready = f"Activated service 'c2s' on [127.0.0.1]:{self.port}"
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace")[offset:]
            if ready in text:
                return
            if self._process is not None and self._process.poll() is not None:
                break
            if "on no ports" in text:
                break
            time.sleep(0.05)
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-8:])
        self.stop()
        raise DevServerError(f"Prosody did not start on port {self.port}:\n{tail}")

    def register(self, user: str, password: str) -> str:
        """Create (or reset) account ``user``; returns its bare JID."""
        _run(
            ["prosodyctl", "--config", str(self._config), "register", user, self.domain, password],
            f"prosodyctl register {user}",
        )
        return f"{user}@{self.domain}"

    def register_many(self, accounts: dict[str, str]) -> list[str]:
        """Create (or reset) many accounts; returns their bare JIDs.

        Plain names and ASCII passwords are written straight into Prosody's account store
        (SCRAM-SHA-1 keys as ``internal_hashed`` keeps them, a few ms each instead of a
        prosodyctl process each); anything else goes through prosodyctl.
        """
        assert self.folder is not None
        store = self.folder / "data" / _prosody_encode(self.domain) / "accounts"
        store.mkdir(parents=True, exist_ok=True)
        jids = []
        for user, password in accounts.items():
            if _PLAIN_USER.fullmatch(user) and password.isascii() and password.isprintable():
                path = store / f"{_prosody_encode(user)}.dat"
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    file.write(_prosody_account(password))
                jids.append(f"{user}@{self.domain}")
            else:
                jids.append(self.register(user, password))
        return jids

    @property
    def log_text(self) -> str:
        assert self.folder is not None
        return (self.folder / "prosody.log").read_text(encoding="utf-8", errors="replace")


__all__ = [
    "DEFAULT_DOMAIN",
    "SERVER_KINDS",
    "DevServer",
    "DevServerError",
    "XmppDevServer",
    "dev_server",
    "free_port",
    "make_certificates",
]
