"""File services: the store's confinement, GetFile/SetFile/DeleteFile/directory through the
sans-I/O core (jobs run by hand, the client's side of SetFile played by the test), and
files up to 10 MB with checksums over Prosody and ejabberd."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gen61850.generated.scsm_8_2 import codec, services
from gen61850.generated.scsm_8_2.bindings import (
    ConfirmedResponsePdu,
    ConfirmedServiceResponse,
    FileAttributes,
    FileDirectoryRequest,
    FileName,
    FileOpenRequest,
    FileOpenResponse,
    FileReadResponse,
    Mmspdu,
    ObtainFileRequest,
)
from gen61850.runtime.filestore import (
    PARTIAL,
    FileAccessRefused,
    FileMissing,
    FileNameRefused,
    FileStore,
    FileTooLarge,
)
from gen61850.runtime.xmpp import pdus
from gen61850.runtime.xmpp.client import AcsiClient
from gen61850.runtime.xmpp.core import ServerCore
from gen61850.runtime.xmpp.errors import ServiceErrorResponse
from gen61850.runtime.xmpp.file_client import FileClient
from gen61850.runtime.xmpp.files import FileService, read_chunk
from gen61850.runtime.xmpp.outputs import IqRequest, IqResult, Job, Output
from gen61850.runtime.xmpp.server import AcsiServer
from gen61850.runtime.xmpp.values import boolean, is_true
from tests.xmpp.conftest import OWN_SCL, Env, SchemaCheck, run, served_model

PEER = "client1@iec61850.test/IEC"
BAD_NAMES = [
    "",
    "../secret",
    "a/../../secret",
    "/etc/passwd",
    "C:/windows",
    "a\\b",
    "a\x00b",
    "a//b",
    "./a",
    "a/.",
    "x" * 256,
    f"{PARTIAL}/upload",
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def random_file(path: Path, size: int, seed: int = 1) -> Path:
    """``size`` octets of seeded noise, written in blocks (never held whole)."""
    generator = hashlib.sha256(str(seed).encode())
    with path.open("wb") as out:
        written = 0
        while written < size:
            generator.update(b".")
            block = generator.digest() * 2048  # 64 KiB
            out.write(block[: size - written])
            written += len(block[: size - written])
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    (root / "COMTRADE").mkdir(parents=True)
    (root / "COMTRADE" / "fault1.cfg").write_bytes(b"cfg" * 100)
    (root / "readme.txt").write_bytes(b"hello")
    secret = tmp_path / "secret"
    secret.write_bytes(b"do not serve")
    (root / "link.txt").symlink_to(secret)
    (root / "linkdir").symlink_to(tmp_path)
    return root


# ---------------------------------------------------------------- the store


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_store_refuses_names_outside_its_folder(folder: Path, name: str) -> None:
    store = FileStore(folder)
    with pytest.raises((FileNameRefused, FileAccessRefused)):
        store.open(name)
    with pytest.raises((FileNameRefused, FileAccessRefused)):
        store.upload(name)
    with pytest.raises((FileNameRefused, FileAccessRefused)):
        store.delete(name)


def test_symbolic_links_are_refused_and_not_listed(folder: Path) -> None:
    store = FileStore(folder)
    for name in ("link.txt", "linkdir/secret", "linkdir/store/readme.txt"):
        with pytest.raises(FileAccessRefused):
            store.open(name)
    with pytest.raises(FileAccessRefused):
        store.delete("link.txt")
    with pytest.raises(FileAccessRefused):
        store.upload("linkdir/new").commit()
    assert (folder.parent / "secret").read_bytes() == b"do not serve"
    assert [e.name for e in store.entries()] == ["COMTRADE/fault1.cfg", "readme.txt"]
    assert [e.name for e in store.entries("COMTRADE")] == ["COMTRADE/fault1.cfg"]
    with pytest.raises(FileAccessRefused):
        store.entries("linkdir")  # a folder reached through a link is not listed either
    with pytest.raises(FileMissing):
        store.open("nothere")


def test_uploads_appear_whole_or_not_at_all(folder: Path) -> None:
    store = FileStore(folder, max_file_size=10)
    upload = store.upload("new/dir/file.bin")
    upload.write(b"12345")
    assert [e.name for e in store.entries()] == ["COMTRADE/fault1.cfg", "readme.txt"]
    entry = upload.commit()
    assert (entry.name, entry.size) == ("new/dir/file.bin", 5)
    assert (folder / "new" / "dir" / "file.bin").read_bytes() == b"12345"
    big = store.upload("big.bin")
    with pytest.raises(FileTooLarge):
        big.write(b"x" * 11)
    assert not (folder / "big.bin").exists()
    assert list((folder / PARTIAL).iterdir()) == []


# ---------------------------------------------------------------- through the core


class Driver:
    """A core with a file store; jobs run at once, in order, as the adapter runs them."""

    def __init__(self, folder: Path, max_pdu_size: int = 65_000) -> None:
        self.check = SchemaCheck()
        self.core = ServerCore(served_model(OWN_SCL), local_jid="xied@x/IEC")
        self.core.inspect = lambda d, e: self.check(d, e) if d == "sent" else None
        self.files = FileService(self.core, FileStore(folder))
        self.count = 0
        self.requests: list[IqRequest] = []
        reply = self.send("set", pdus.initiate_request(max_pdu_size, 8))
        assert reply[-1].initiate_response_pdu is not None

    def _run(self, outputs: list[Output]) -> list[Mmspdu]:
        """Run jobs as the adapter does; the PDUs the core answers with, in order."""
        answers: list[Mmspdu] = []
        queue = list(outputs)
        while queue:
            output = queue.pop(0)
            if isinstance(output, Job):
                try:
                    result: Any = output.work()
                except Exception as error:
                    result = error
                if output.token:
                    queue.extend(self.core.complete(output.token, result, 0.0))
            elif isinstance(output, IqResult):
                answers.append(codec.decode(output.payload).pdu)
            elif isinstance(output, IqRequest):
                self.requests.append(output)
        return answers

    def send(self, iq_type: str, pdu: Mmspdu | ET.Element) -> list[Mmspdu]:
        self.count += 1
        element = pdu if isinstance(pdu, ET.Element) else codec.encode(pdus.context("a1", pdu))
        return self._run(self.core.receive(PEER, iq_type, f"q{self.count}", element, 0.0))

    def answer(self, request: IqRequest, response: ConfirmedServiceResponse) -> list[Mmspdu]:
        """The client answers a request the core sent it."""
        sent = codec.decode(request.payload).pdu.confirmed_request_pdu
        assert sent is not None
        pdu = Mmspdu(
            confirmed_response_pdu=ConfirmedResponsePdu(invoke_id=sent.invoke_id, service=response)
        )
        element = codec.encode(pdus.context("a1", pdu))
        return self._run(self.core.receive_answer(PEER, request.iq_id, element, 0.0))


def response(answers: list[Mmspdu]) -> ConfirmedServiceResponse:
    (answer,) = answers
    assert answer.confirmed_response_pdu is not None, answer
    return answer.confirmed_response_pdu.service


def error_code(answers: list[Mmspdu]) -> tuple[str, int]:
    (answer,) = answers
    assert answer.confirmed_error_pdu is not None, answer
    return pdus.error_of(answer.confirmed_error_pdu.service_error).error_class, pdus.error_of(
        answer.confirmed_error_pdu.service_error
    ).code


def open_request(name: str, position: int = 0) -> Mmspdu:
    return services.file_open_request(
        1, FileOpenRequest(file_name=FileName(graphic_string=[name]), initial_position=position)
    )


def test_get_file_through_the_core_in_chunks_within_the_pdu_size(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    random_file(root / "record.dat", 10_000)
    d = Driver(root, max_pdu_size=2_048)
    opened = response(d.send("set", open_request("record.dat"))).file_open
    assert opened is not None and opened.file_attributes.size_of_file == 10_000
    data, more = b"", True
    while more:
        chunk = response(d.send("get", services.file_read_request(2, opened.frsm_id))).file_read
        assert chunk is not None
        assert len(chunk.file_data) <= read_chunk(2_048)
        data += chunk.file_data
        more = is_true(chunk.more_follows)
    assert data == (root / "record.dat").read_bytes()
    assert response(d.send("set", services.file_close_request(3, opened.frsm_id))).file_close
    assert error_code(d.send("get", services.file_read_request(4, opened.frsm_id))) == ("file", 0)
    d.check.assert_clean()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../secret", ("file", 3)),
        ("/etc/passwd", ("file", 3)),
        ("a\x00b", ("file", 3)),
        ("link.txt", ("file", 6)),
        ("linkdir/secret", ("file", 6)),
        ("COMTRADE", ("file", 6)),
        ("nothere", ("file", 7)),
    ],
)
def test_get_file_refusals_through_the_core(folder: Path, name: str, code: tuple[str, int]) -> None:
    d = Driver(folder)
    assert error_code(d.send("set", open_request(name))) == code
    assert (
        error_code(d.send("set", services.file_delete_request(1, FileName(graphic_string=[name]))))
        == code
    )


def test_position_directory_attributes_and_delete(folder: Path) -> None:
    d = Driver(folder)
    assert error_code(d.send("set", open_request("readme.txt", 6))) == ("file", 5)
    listing = response(d.send("get", services.file_directory_request(1, FileDirectoryRequest())))
    assert listing.file_directory is not None
    entries = listing.file_directory.list_of_directory_entry.directory_entry
    assert [
        ("/".join(e.file_name.graphic_string), e.file_attributes.size_of_file) for e in entries
    ] == [
        ("COMTRADE/fault1.cfg", 300),
        ("readme.txt", 5),
    ]
    assert all(e.file_attributes.last_modified for e in entries)
    one = FileDirectoryRequest(file_specification=FileName(graphic_string=["readme.txt"]))
    single = response(d.send("get", services.file_directory_request(2, one))).file_directory
    assert single is not None and len(single.list_of_directory_entry.directory_entry) == 1
    opened = response(d.send("set", open_request("readme.txt"))).file_open
    assert opened is not None
    busy = services.file_delete_request(3, FileName(graphic_string=["readme.txt"]))
    assert error_code(d.send("set", busy)) == ("file", 2)
    d.send("set", services.file_close_request(4, opened.frsm_id))
    assert response(d.send("set", busy)).file_delete is not None
    assert not (folder / "readme.txt").exists()
    d.check.assert_clean()


def test_set_file_pulls_the_file_from_the_client(folder: Path) -> None:
    d = Driver(folder, max_pdu_size=4_096)
    source = os.urandom(9_000)
    obtain = services.obtain_file_request(
        5,
        ObtainFileRequest(
            source_file=FileName(graphic_string=["local.bin"]),
            destination_file=FileName(graphic_string=["up/loaded.bin"]),
        ),
    )
    assert d.send("get", obtain) == []  # answered when the transfer ends
    request = d.requests.pop()
    sent = codec.decode(request.payload).pdu.confirmed_request_pdu
    assert request.iq_type == "set" and sent is not None and sent.service.file_open is not None
    assert "/".join(sent.service.file_open.file_name.graphic_string) == "local.bin"
    attributes = FileAttributes(size_of_file=len(source), last_modified="20270101000000Z")
    assert (
        d.answer(
            request,
            ConfirmedServiceResponse(
                file_open=FileOpenResponse(frsm_id=7, file_attributes=attributes)
            ),
        )
        == []
    )
    position, answers = 0, []
    while True:
        request = d.requests.pop()
        sent = codec.decode(request.payload).pdu.confirmed_request_pdu
        assert sent is not None
        if sent.service.file_close is not None:
            break
        assert request.iq_type == "get" and sent.service.file_read == 7
        data = source[position : position + 1_500]
        position += len(data)
        more = boolean(position < len(source))
        answers = d.answer(
            request,
            ConfirmedServiceResponse(file_read=FileReadResponse(file_data=data, more_follows=more)),
        )
    assert response(answers).obtain_file is not None
    assert (folder / "up" / "loaded.bin").read_bytes() == source
    d.check.assert_clean()


def test_set_file_fails_cleanly_when_the_client_refuses(folder: Path) -> None:
    d = Driver(folder)
    obtain = services.obtain_file_request(
        5,
        ObtainFileRequest(
            source_file=FileName(graphic_string=["local.bin"]),
            destination_file=FileName(graphic_string=["new.bin"]),
        ),
    )
    assert d.send("get", obtain) == []
    request = d.requests.pop()
    refusal = pdus.confirmed_error(1, ("file", 7), "no such file")
    answers = d._run(
        d.core.receive_answer(PEER, request.iq_id, codec.encode(pdus.context("a1", refusal)), 0.0)
    )
    assert error_code(answers) == ("file", 0)
    assert not (folder / "new.bin").exists()
    assert list((folder / PARTIAL).iterdir()) == []
    bad = services.obtain_file_request(
        6,
        ObtainFileRequest(
            source_file=FileName(graphic_string=["x"]),
            destination_file=FileName(graphic_string=["../escape"]),
        ),
    )
    assert error_code(d.send("get", bad)) == ("file", 3)


def test_without_a_store_file_services_are_refused() -> None:
    core = ServerCore(served_model(OWN_SCL))
    core.receive(
        PEER, "set", "i", codec.encode(pdus.context("a1", pdus.initiate_request(65_000, 4))), 0.0
    )
    (answer,) = core.receive(
        PEER, "set", "o", codec.encode(pdus.context("a1", open_request("x"))), 0.0
    )
    assert isinstance(answer, IqResult)
    pdu = codec.decode(answer.payload).pdu
    assert pdu.confirmed_error_pdu is not None
    assert pdus.error_of(pdu.confirmed_error_pdu.service_error).code == 6


# ---------------------------------------------------------------- over XMPP


TEN_MB = 10 * 1024 * 1024


def test_files_over_xmpp_with_checksums(xmpp_env: Env, folder: Path, tmp_path: Path) -> None:
    big = random_file(folder / "COMTRADE" / "big.dat", TEN_MB, seed=7)
    upload = random_file(tmp_path / "settings.bin", TEN_MB, seed=8)

    async def body() -> None:
        check = SchemaCheck()
        server = AcsiServer(xmpp_env.settings("ied1"), served_model(OWN_SCL), inspect=check)
        FileService(server.core, FileStore(folder))
        client = AcsiClient(xmpp_env.settings("client1"))  # 10 MB of hex: validated in the core
        await server.start()
        try:
            await client.start()
            association = await client.associate(xmpp_env.jid("ied1"))
            files = FileClient(association)
            listing = {e.name: e for e in await files.directory()}
            assert set(listing) == {"COMTRADE/big.dat", "COMTRADE/fault1.cfg", "readme.txt"}
            assert listing["COMTRADE/big.dat"].size == TEN_MB
            assert listing["COMTRADE/big.dat"].modified == pytest.approx(big.stat().st_mtime, abs=1)
            assert [e.name for e in await files.directory("COMTRADE")] == [
                "COMTRADE/big.dat",
                "COMTRADE/fault1.cfg",
            ]
            assert (await files.attributes("readme.txt")).size == 5

            entry = await files.get_file("COMTRADE/big.dat", tmp_path / "copy.dat")
            assert entry.size == TEN_MB
            assert sha256(tmp_path / "copy.dat") == sha256(big)

            await files.set_file(upload, "settings/new.bin")
            assert sha256(folder / "settings" / "new.bin") == sha256(upload)

            for name, code in (
                ("../secret", 3),
                ("/etc/passwd", 3),
                ("link.txt", 6),
                ("nothere", 7),
            ):
                with pytest.raises(ServiceErrorResponse) as refused:
                    await files.get_file(name, tmp_path / "x")
                assert (refused.value.error_class, refused.value.code) == ("file", code), name
                assert not (tmp_path / "x").exists()
            with pytest.raises(ServiceErrorResponse):
                await files.set_file(upload, "../escape.bin")
            await files.delete_file("readme.txt")
            assert not (folder / "readme.txt").exists()
            files.close()
            await association.release()
        finally:
            await client.stop()
            await server.stop()
        check.assert_clean()

    run(body(), timeout=240)
