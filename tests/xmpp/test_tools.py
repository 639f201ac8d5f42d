"""Reference syntax, value display and account options of the CLI tools (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen61850.generated.scsm_8_2.bindings import Boolean, Data, DataList, Null
from gen61850.runtime.xmpp.errors import LocalError
from gen61850.runtime.xmpp.tools import (
    Account,
    ReferenceSyntaxError,
    parse_reference,
    read_account_file,
    show,
    write_account_file,
)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("LD0/MMXU1.TotW.mag.f[MX]", ("LD0", "MMXU1$MX$TotW$mag$f")),
        ("LD0/LLN0.Mod[ST]", ("LD0", "LLN0$ST$Mod")),
        ("LD0/MMXU1$MX$TotW$mag$f", ("LD0", "MMXU1$MX$TotW$mag$f")),
        ("LD0/LLN0", ("LD0", "LLN0")),
    ],
)
def test_references(reference: str, expected: tuple[str, str]) -> None:
    assert parse_reference(reference) == expected


@pytest.mark.parametrize("reference", ["LLN0.Mod", "LD0/", "LD0/LLN0.Mod[st]", "a/b/c", ""])
def test_bad_references(reference: str) -> None:
    with pytest.raises(ReferenceSyntaxError, match="expected LD/LN"):
        parse_reference(reference)


def test_show() -> None:
    value = Data(
        structure=DataList(
            data=[
                Data(integer=3),
                Data(boolean=Boolean(true=Null())),
                Data(octet_string=b"\x01\x02"),
                Data(bit_string="01"),
            ]
        )
    )
    assert show(value) == "{3, True, 0102, 01}"


def test_account_settings_and_files(tmp_path: Path) -> None:
    account = Account("a@b", "pw", "127.0.0.1:5999", "/ca.crt", "PLAIN")
    settings = account.settings("client")
    assert "pw" not in repr(account) and "pw" not in repr(settings)
    assert (settings.host, settings.port, settings.sasl_mechanism) == ("127.0.0.1", 5999, "PLAIN")
    assert Account("a@b", "pw", "example.org").settings("x").port == 5222
    path = tmp_path / "a.toml"
    write_account_file(path, account)
    assert read_account_file(path) == account
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Account(jid="x@y").merged(account) == Account(
        "x@y", "pw", "127.0.0.1:5999", "/ca.crt", "PLAIN"
    )
    with pytest.raises(LocalError, match="no password for a@b"):
        Account("a@b").settings("client")
    with pytest.raises(LocalError, match="no JID"):
        Account().settings("client")
    with pytest.raises(LocalError, match="HOST\\[:PORT\\]"):
        Account("a@b", "pw", "host:port").settings("client")
    awkward = Account("a@b", 'p"w\\ \n\x7f ü', None, "/certs/a\\b.crt")
    write_account_file(path, awkward)
    assert read_account_file(path) == awkward
    relative = Account("a@b", "pw", None, "gx/ca.crt")  # relative to the file, not the cwd
    write_account_file(path, relative)
    assert read_account_file(path).ca_file == str(tmp_path / "gx" / "ca.crt")
    (tmp_path / "bad.toml").write_text("jid = ", encoding="utf-8")
    with pytest.raises(LocalError, match=r"bad\.toml"):
        read_account_file(tmp_path / "bad.toml")


def test_get_values_lines_name_each_failure_once() -> None:
    import asyncio

    from gen61850.generated.scsm_8_2.bindings import AccessResult
    from gen61850.runtime.xmpp.tools import get_values

    class Answers:
        async def read(self, references: list[tuple[str, str]]) -> list[AccessResult]:
            assert references == [("LD0", "A$ST$x"), ("LD0", "B$MX$y")]
            return [AccessResult(failure=0), AccessResult(success=Data(integer=1))]

    lines = asyncio.run(get_values(Answers(), ["LD0/A$ST$x", "LD0/B.y[MX]"]))  # type: ignore[arg-type]
    assert lines == ["LD0/A$ST$x: object-invalidated (0)", "LD0/B.y[MX] = 1"]
