"""What the CLI and the demo do with an 8-2 server: browse its tree, get and set values by reference.

References are ``LD/LN$FC$DO$DA`` (MMS form) or ``LD/LN.DO.DA[FC]`` (ACSI form). Values are
shown through the MMS Data they arrive as; ``set`` asks the server for the variable's type
first (GetDataDefinition) and converts the text to it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from gen61850.generated.scsm_8_2.bindings import Data, TypeDescription
from gen61850.runtime.device import BasicType, Timestamp
from gen61850.runtime.xmpp.client import AcsiClient, ClientAssociation, data_objects
from gen61850.runtime.xmpp.errors import DataAccessFailure, LocalError
from gen61850.runtime.xmpp.references import ReferenceSyntaxError, parse_reference
from gen61850.runtime.xmpp.transport import XmppSettings
from gen61850.runtime.xmpp.values import ValueMismatch, data_to_python, parse_text, scalar_to_data

T = TypeVar("T")


def show(data: Data) -> str:
    """A value for people: numbers, strings, bit strings as 0/1, structures in braces."""
    value = data_to_python(data)
    return _show(value)


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "{" + ", ".join(_show(v) for v in value) + "}"
    if isinstance(value, Timestamp):
        return value.datetime.isoformat(timespec="microseconds")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


async def with_association(
    settings: XmppSettings, server: str, action: Callable[[ClientAssociation], Awaitable[T]]
) -> T:
    """Connect as ``settings``, associate with ``server``, run ``action``, release, stop."""
    client = AcsiClient(settings)
    await client.start()
    try:
        association = await client.associate(server)
        result = await action(association)
        await association.release()
        return result
    finally:
        await client.stop()


async def browse(association: ClientAssociation) -> list[str]:
    """The server's tree: logical devices, logical nodes, data objects, data sets."""
    lines: list[str] = []
    for ld in await association.get_server_directory():
        lines.append(ld)
        names = await association.name_list(0, ld)
        objects = data_objects(names)
        data_sets: dict[str, list[str]] = {}
        for data_set in await association.get_data_set_names(ld):
            ln, _, name = data_set.partition("$")
            data_sets.setdefault(ln, []).append(name)
        for ln in [n for n in names if "$" not in n]:
            lines.append(f"  {ln}")
            lines.extend(f"    {do} [{', '.join(fcs)}]" for do, fcs in objects.get(ln, {}).items())
            lines.extend(f"    data set {name}" for name in data_sets.get(ln, []))
    files = await association.get_server_files()
    if files:
        lines.append("files")
        lines.extend(f"  {name} ({size} octets)" for name, size, _ in files)
    return lines


async def get_values(association: ClientAssociation, references: list[str]) -> list[str]:
    """``REF = value`` per reference (or ``REF: error``), in one read."""
    parsed = [parse_reference(r) for r in references]
    results = await association.read(parsed)
    lines = []
    for reference, result in zip(references, results, strict=True):
        if result.success is not None:
            lines.append(f"{reference} = {show(result.success)}")
        else:
            code = result.failure if result.failure is not None else -1  # 0 is a code too
            lines.append(str(DataAccessFailure(reference, code)))
    return lines


def _btype_of(description: TypeDescription, reference: str) -> BasicType:
    if description.boolean is not None:
        return BasicType.BOOLEAN
    if description.floating_point is not None:
        wide = description.floating_point.format_width == 64
        return BasicType.FLOAT64 if wide else BasicType.FLOAT32
    if description.integer is not None:
        return {8: BasicType.INT8, 16: BasicType.INT16, 32: BasicType.INT32}.get(
            description.integer, BasicType.INT64
        )
    if description.unsigned is not None:
        return {8: BasicType.INT8U, 16: BasicType.INT16U}.get(
            description.unsigned, BasicType.INT32U
        )
    if description.visible_string is not None:
        return BasicType.VISSTRING255
    if description.m_msstring is not None:
        return BasicType.UNICODE255
    if description.octet_string is not None:
        return BasicType.OCTET64
    if description.utc_time is not None:
        return BasicType.TIMESTAMP
    raise LocalError(
        f"{reference}: set works on basic attributes (this one is a structure, "
        "array or bit string: give its components)"
    )


async def set_value(association: ClientAssociation, reference: str, text: str) -> str:
    """Write ``text`` (converted to the variable's type) to ``reference``."""
    domain, item = parse_reference(reference)
    description = await association.get_data_definition(domain, item)
    if description.bit_string is not None:
        bits = text.strip()
        if len(bits) != description.bit_string or set(bits) - {"0", "1"}:
            raise LocalError(f"{reference}: expected {description.bit_string} bits of 0/1")
        data = Data(bit_string=bits)
    else:
        btype = _btype_of(description, reference)
        try:
            data = scalar_to_data(btype, parse_text(btype, text))
        except ValueMismatch as error:
            raise LocalError(f"{reference}: {error}") from None
    await association.set_data_values(domain, item, data)
    return f"{reference} := {show(data)}"


@dataclass(frozen=True)
class Account:
    """Connection options as read from command line, environment and config file."""

    jid: str | None = None
    password: str | None = field(default=None, repr=False)
    server: str | None = None
    ca_file: str | None = None
    sasl: str | None = None

    def merged(self, other: Account) -> Account:
        return Account(
            self.jid or other.jid,
            self.password or other.password,
            self.server or other.server,
            self.ca_file or other.ca_file,
            self.sasl or other.sasl,
        )

    def settings(self, what: str, *, timeout: float = 10.0) -> XmppSettings:
        if not self.jid:
            raise LocalError(f"{what}: no JID (--jid/--as, GEN61850_XMPP_JID or a config file)")
        if not self.password:
            raise LocalError(
                f"{what}: no password for {self.jid} (--password, "
                "GEN61850_XMPP_PASSWORD or a config file)"
            )
        host, port = "", 5222
        if self.server:
            host, _, port_text = (
                self.server.rpartition(":") if ":" in self.server else (self.server, "", "5222")
            )
            try:
                port = int(port_text)
            except ValueError:
                raise LocalError(f"server {self.server!r}: expected HOST[:PORT]") from None
        return XmppSettings(
            jid=self.jid,
            password=self.password,
            host=host,
            port=port,
            ca_file=self.ca_file,
            connect_timeout=timeout,
            request_timeout=timeout,
            sasl_mechanism=self.sasl,
        )


def read_account_file(path: Path) -> Account:
    """A TOML file with ``jid``, ``password``, ``server``, ``ca``, ``sasl`` (top level or [xmpp]).

    A relative ``ca`` is relative to the file's folder.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LocalError(f"{path}: {error}") from None
    section = data.get("xmpp", data)
    ca = section.get("ca")
    if isinstance(ca, str) and ca and not Path(ca).is_absolute():
        ca = str(path.parent / ca)  # relative to the file, not to where the command runs
    return Account(
        section.get("jid"),
        section.get("password"),
        section.get("server"),
        ca,
        section.get("sasl"),
    )


def write_account_file(path: Path, account: Account) -> None:
    """The TOML file ``read_account_file`` reads, readable by its owner only from the start."""
    lines = ["[xmpp]"]
    for key, value in (
        ("jid", account.jid),
        ("password", account.password),
        ("server", account.server),
        ("ca", account.ca_file),
        ("sasl", account.sasl),
    ):
        if value is not None:
            lines.append(f"{key} = {_toml_string(value)}")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file existed with wider permissions
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")


def _toml_string(value: str) -> str:
    """A TOML basic string: quote, backslash and control characters escaped."""
    escaped = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c
        for c in value
    )
    return f'"{escaped}"'


__all__ = [
    "Account",
    "ReferenceSyntaxError",
    "browse",
    "get_values",
    "parse_reference",
    "read_account_file",
    "set_value",
    "show",
    "with_association",
    "write_account_file",
]
