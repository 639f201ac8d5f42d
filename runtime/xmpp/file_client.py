"""The client side of the 8-2 file services: directory, GetFile, SetFile, DeleteFile.

``get_file`` streams a file to disk a chunk at a time (fileOpen, fileRead until
``moreFollows`` is false, fileClose), never holding it whole; the partial copy is written
beside the target and moved in when complete. ``set_file`` offers one local file to the
server for the time of an obtainFile: the server then reads it with fileOpen, fileRead and
fileClose sent to this client, which answers only for that file, under the name it offered
(never a path the server chooses), in chunks within the negotiated PDU size.
"""

from __future__ import annotations

import datetime
import itertools
import os
from pathlib import Path
from typing import BinaryIO

from gen61850.generated.scsm_8_2 import services
from gen61850.generated.scsm_8_2.bindings import (
    ConfirmedRequestPdu,
    ConfirmedServiceResponse,
    FileAttributes,
    FileDirectoryRequest,
    FileName,
    FileOpenRequest,
    FileOpenResponse,
    FileReadResponse,
    Null,
    ObtainFileRequest,
)
from gen61850.runtime.filestore import FileEntry
from gen61850.runtime.xmpp import mapping
from gen61850.runtime.xmpp.client import ClientAssociation
from gen61850.runtime.xmpp.errors import LocalError, PayloadError
from gen61850.runtime.xmpp.files import read_chunk
from gen61850.runtime.xmpp.handlers import ServiceFailure, generalized_time
from gen61850.runtime.xmpp.values import boolean, is_true

SET_FILE_RATE = 200_000  # octets/s assumed at worst when SetFile's answer is waited for


def entry_of(name: str, size: int, modified: str | None) -> FileEntry:
    """A FileEntry from directory values (``modified`` a GeneralizedTime, or None)."""
    seconds = 0.0
    if modified:
        moment = datetime.datetime.strptime(modified[:14], "%Y%m%d%H%M%S")
        seconds = moment.replace(tzinfo=datetime.UTC).timestamp()
    return FileEntry(name, size, seconds)


class FileClient:
    """The file services of one association (see the module doc)."""

    def __init__(self, association: ClientAssociation) -> None:
        self.association = association
        self._offers: dict[str, Path] = {}
        self._open: dict[int, tuple[str, BinaryIO, int]] = {}
        self._frsm = itertools.count(1)
        association.client.request_handlers[association.state.association_id] = self._serve

    def close(self) -> None:
        """Stop answering the server's file requests; close what it left open."""
        handlers = self.association.client.request_handlers
        if handlers.get(self.association.state.association_id) == self._serve:
            del handlers[self.association.state.association_id]
        for _name, stream, _size in self._open.values():
            stream.close()
        self._open.clear()

    # ------------------------------------------------------------ the services

    async def directory(self, folder: str | None = None) -> list[FileEntry]:
        """The file directory (of the store, or of one of its folders), all pages."""
        entries: list[FileEntry] = []
        seen: set[str] = set()
        after: FileName | None = None
        spec = FileName(graphic_string=[folder]) if folder else None
        while True:
            response = await self.association._call(
                services.file_directory_request,
                services.file_directory_response,
                FileDirectoryRequest(file_specification=spec, continue_after=after),
            )
            page = response.list_of_directory_entry.directory_entry
            for item in page:
                name = "/".join(item.file_name.graphic_string)
                if name in seen:
                    raise PayloadError("listOfDirectoryEntry", f"{name!r} again")
                seen.add(name)
                attributes = item.file_attributes
                entries.append(entry_of(name, attributes.size_of_file, attributes.last_modified))
            if not page or not is_true(response.more_follows):
                return entries
            after = page[-1].file_name

    async def attributes(self, name: str) -> FileEntry:
        """GetFileAttributeValues of one file."""
        size, modified = await self.association.get_file_attribute_values(name)
        return entry_of(name, size, modified)

    async def get_file(self, name: str, target: Path, *, max_size: int | None = None) -> FileEntry:
        """GetFile ``name`` into ``target`` (streamed; moved in when complete)."""
        opened: FileOpenResponse = await self.association._call(
            services.file_open_request,
            services.file_open_response,
            FileOpenRequest(file_name=FileName(graphic_string=[name]), initial_position=0),
        )
        size = opened.file_attributes.size_of_file
        partial = target.with_name(target.name + ".part")
        received = 0
        try:
            if max_size is not None and size > max_size:
                raise LocalError(f"{name}: {size} octets, more than the {max_size} allowed")
            with partial.open("wb") as out:
                while True:
                    chunk: FileReadResponse = await self.association._call(
                        services.file_read_request, services.file_read_response, opened.frsm_id
                    )
                    out.write(chunk.file_data)
                    received += len(chunk.file_data)
                    if max_size is not None and received > max_size:
                        raise LocalError(f"{name}: more than the {max_size} octets allowed")
                    more = chunk.more_follows is None or is_true(chunk.more_follows)
                    if not more or not chunk.file_data:
                        break
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            await self.association._call(
                services.file_close_request, services.file_close_response, opened.frsm_id
            )
        modified = opened.file_attributes.last_modified
        return entry_of(name, received, modified)

    async def set_file(
        self, source: Path, destination: str, *, timeout: float | None = None
    ) -> None:
        """SetFile: the server fetches ``source`` (offered under its file name) and stores it
        as ``destination``; waits for the whole transfer (``timeout``: from its size)."""
        if not source.is_file():
            raise LocalError(f"{source}: no such file")
        offered = source.name
        if offered in self._offers:
            raise LocalError(f"{offered}: already being sent")
        size = source.stat().st_size
        wait = timeout or self.association.client.settings.request_timeout + size / SET_FILE_RATE
        self._offers[offered] = source
        try:
            await self.association._call(
                services.obtain_file_request,
                services.obtain_file_response,
                ObtainFileRequest(
                    source_file=FileName(graphic_string=[offered]),
                    destination_file=FileName(graphic_string=[destination]),
                ),
                timeout=wait,
            )
        finally:
            del self._offers[offered]
            for frsm, (name, stream, _size) in list(self._open.items()):
                if name == offered:
                    stream.close()
                    del self._open[frsm]

    async def delete_file(self, name: str) -> None:
        """DeleteFile."""
        await self.association._call(
            services.file_delete_request,
            services.file_delete_response,
            FileName(graphic_string=[name]),
        )

    # ------------------------------------------------------------ serving the server

    def _serve(self, request: ConfirmedRequestPdu) -> ConfirmedServiceResponse:
        """fileOpen/fileRead/fileClose of an offered file, from the server of this association."""
        service = request.service
        if service.file_open is not None:
            name = "/".join(service.file_open.file_name.graphic_string)
            path = self._offers.get(name)
            if path is None:
                raise ServiceFailure(mapping.FILE_ACCESS_DENIED, f"{name[:80]!r} is not offered")
            stream = path.open("rb")
            info = os.fstat(stream.fileno())
            position = service.file_open.initial_position
            if position > info.st_size:
                stream.close()
                raise ServiceFailure(mapping.FILE_POSITION_INVALID, f"position {position}")
            stream.seek(position)
            frsm = next(self._frsm)
            self._open[frsm] = (name, stream, info.st_size)
            return ConfirmedServiceResponse(
                file_open=FileOpenResponse(
                    frsm_id=frsm,
                    file_attributes=_attributes(info.st_size, info.st_mtime),
                )
            )
        if service.file_read is not None:
            found = self._open.get(service.file_read)
            if found is None:
                raise ServiceFailure(mapping.FILE_OTHER, f"no file open as {service.file_read}")
            _name, reading, size = found
            negotiated = self.association.state.negotiated
            limit = negotiated.max_pdu_size if negotiated else 65_000
            data = reading.read(read_chunk(limit))
            return ConfirmedServiceResponse(
                file_read=FileReadResponse(
                    file_data=data, more_follows=boolean(reading.tell() < size)
                )
            )
        if service.file_close is not None:
            closed = self._open.pop(service.file_close, None)
            if closed is None:
                raise ServiceFailure(mapping.FILE_OTHER, f"no file open as {service.file_close}")
            closed[1].close()
            return ConfirmedServiceResponse(file_close=Null())
        raise ServiceFailure(
            mapping.ACCESS_OBJECT_ACCESS_DENIED, "a client serves only the files it offers"
        )


def _attributes(size: int, modified: float) -> FileAttributes:
    return FileAttributes(size_of_file=size, last_modified=generalized_time(modified))


__all__ = ["FileClient", "entry_of"]
