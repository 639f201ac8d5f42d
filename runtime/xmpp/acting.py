"""What the CLI does to act on an 8-2 server: operate and cancel controls, edit setting
groups, move files. Each function takes an association and returns lines to print (and,
for controls, whether the service succeeded)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from gen61850.runtime.device.control import Check, Origin
from gen61850.runtime.xmpp.client import ClientAssociation
from gen61850.runtime.xmpp.control_client import ControlClient, parse_value
from gen61850.runtime.xmpp.errors import LocalError
from gen61850.runtime.xmpp.file_client import FileClient
from gen61850.runtime.xmpp.sg_client import SettingGroupClient, setting_item
from gen61850.runtime.xmpp.tools import show

NO_CHECK = Check()
CHECKS = {"interlock": "interlock", "synchro": "synchrocheck", "synchrocheck": "synchrocheck"}


def check_of(text: str | None) -> Check:
    """``interlock,synchro`` → Check(interlock=True, synchrocheck=True)."""
    wanted = {part.strip() for part in (text or "").split(",") if part.strip()}
    unknown = wanted - set(CHECKS)
    if unknown:
        raise LocalError(f"--check {', '.join(sorted(unknown))}: interlock and/or synchro")
    names = {CHECKS[w] for w in wanted}
    return Check(synchrocheck="synchrocheck" in names, interlock="interlock" in names)


async def operate(
    association: ClientAssociation,
    reference: str,
    text: str,
    *,
    sbo: bool = False,
    origin: Origin,
    test: bool = False,
    check: Check = NO_CHECK,
) -> tuple[bool, list[str]]:
    """(Select first with ``sbo``, then) Operate; the outcome of each step."""
    control = ControlClient(association, origin=origin)
    value = parse_value(await control.ctl_val_description(reference), text)
    options: dict[str, Any] = {"test": test, "check": check}
    lines: list[str] = []
    if sbo:
        selected = await control.select_before_operate(reference, value, **options)
        lines.append(selected.describe())
        if not selected.succeeded:
            return False, lines
    result = await control.operate(reference, value, **options)
    lines.append(result.describe())
    return result.succeeded, lines


async def cancel(
    association: ClientAssociation, reference: str, *, origin: Origin
) -> tuple[bool, list[str]]:
    control = ControlClient(association, origin=origin)
    description = await control.ctl_val_description(reference)
    value: Any = False if description.boolean is not None else 0
    if description.structure is not None:
        value = 0.0
    result = await control.cancel(reference, value)
    return result.succeeded, [result.describe()]


async def setting_groups(
    association: ClientAssociation,
    ld: str,
    *,
    active: int | None = None,
    edit: int | None = None,
    settings: list[tuple[str, str]] | None = None,
    confirm: bool = False,
) -> list[str]:
    """SGCB values, then SelectActiveSG / SelectEditSG, SetEditSGValue each, Confirm."""
    groups = SettingGroupClient(association)
    lines = [f"SGCB {ld}: {(await groups.get_sgcb_values(ld)).describe()}"]
    if edit is not None:
        await groups.select_edit_sg(ld, edit)
        lines.append(f"SelectEditSG {edit}: success")
    for reference, text in settings or []:
        item = setting_item(reference, "SE")
        description = await association.get_data_definition(ld, item)
        value = parse_value(description, text)
        await groups.set_edit_sg_value(ld, reference, value)
        shown = await association.get_data_values(ld, item)
        lines.append(f"SetEditSGValue {reference} := {show(shown)}")
    if confirm:
        await groups.confirm_edit_sg_values(ld)
        lines.append("ConfirmEditSGValues: success")
    if active is not None:
        await groups.select_active_sg(ld, active)
        lines.append(f"SelectActiveSG {active}: success")
    if active is not None or edit is not None or confirm:
        lines.append(f"SGCB {ld}: {(await groups.get_sgcb_values(ld)).describe()}")
    return lines


async def files(association: ClientAssociation, action: str, arguments: list[str]) -> list[str]:
    """``ls [FOLDER]``, ``get NAME [TARGET]``, ``put LOCAL [NAME]``, ``rm NAME``."""
    client = FileClient(association)
    try:
        if action == "ls":
            entries = await client.directory(arguments[0] if arguments else None)
            return [f"{e.size:>12}  {_when(e.modified)}  {e.name}" for e in entries] or [
                "(no files)"
            ]
        if action == "get":
            name = arguments[0]
            target = Path(arguments[1]) if len(arguments) > 1 else Path(Path(name).name)
            entry = await client.get_file(name, target)
            return [f"GetFile {name}: {entry.size} octets to {target}"]
        if action == "put":
            source = Path(arguments[0])
            name = arguments[1] if len(arguments) > 1 else source.name
            await client.set_file(source, name)
            return [f"SetFile {name}: {source.stat().st_size} octets from {source}"]
        if action == "rm":
            await client.delete_file(arguments[0])
            return [f"DeleteFile {arguments[0]}: success"]
        raise LocalError(f"file {action}: ls, get, put or rm")
    finally:
        client.close()


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


__all__ = ["cancel", "check_of", "files", "operate", "setting_groups"]
