"""The file services over 8-2: GetFile, SetFile, DeleteFile, GetFileAttributeValues, the file
directory, served from one folder (``runtime.filestore.FileStore``).

- GetFile = fileOpen (name, initial position → frsmID and the file's size and time),
  fileRead until ``moreFollows`` is false (each chunk fits the negotiated PDU size: the
  octets travel as hex, two characters each), fileClose.
- SetFile = obtainFile: the server fetches the file from the client, sending fileOpen,
  fileRead and fileClose to the client in the same association (``core.request``), writes
  the chunks to a temporary file and moves it in once complete; obtainFile is answered then.
- DeleteFile = fileDelete; GetFileAttributeValues = fileDirectory of one file; the file
  directory (GetServerDirectory FILE) = fileDirectory of the store or of one folder in it,
  with sizes and times, paged to the PDU size.

File work runs outside the event loop (``Deferred`` jobs, one worker thread in order): a
10 MB file is read and written a chunk at a time, never whole. Open files belong to their
association (closed with it), at most ``max_open`` each. Errors are the ISO 9506-2 file
class: filename-syntax-error (3) for names the store refuses (absolute, ``..``, NUL, ...),
file-access-denied (6) for symbolic links and folders, file-non-existent (7),
position-invalid (5), file-busy (2) to delete an open file, insufficient-space (9) above
the store's size limit, others (0) for a frsmID that is not open.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar

from gen61850.generated.scsm_8_2 import services
from gen61850.generated.scsm_8_2.bindings import (
    DirectoryEntry,
    FileAttributes,
    FileDirectoryRequest,
    FileDirectoryResponse,
    FileName,
    FileOpenRequest,
    FileOpenResponse,
    FileReadResponse,
    ListOfDirectoryEntry,
    Null,
    ObtainFileRequest,
)
from gen61850.runtime.filestore import (
    FileAccessRefused,
    FileEntry,
    FileMissing,
    FileNameRefused,
    FilePositionRefused,
    FileStore,
    FileStoreError,
    FileTooLarge,
    Upload,
    check_name,
)
from gen61850.runtime.xmpp import mapping, pdus
from gen61850.runtime.xmpp.core import Answer, Deferred, ServerCore
from gen61850.runtime.xmpp.handlers import (
    FILE_ENTRY_OVERHEAD,
    PAGE_RESERVE,
    ServiceFailure,
    generalized_time,
)
from gen61850.runtime.xmpp.outputs import Job
from gen61850.runtime.xmpp.scope import AssociationScope, CallContext
from gen61850.runtime.xmpp.values import boolean, is_true

log = logging.getLogger(__name__)
T = TypeVar("T")
# ServiceSupportOptions bits: obtainFile 46, fileOpen 72, fileRead 73, fileClose 74, fileDelete 76
FILE_SERVICE_BITS = (46, 72, 73, 74, 76)
READ_RESERVE = 700  # octets of a fileRead answer around its data (context, PDU, stanza)
DEFAULT_MAX_OPEN = 8
FAILURES: tuple[tuple[type[FileStoreError], tuple[str, int]], ...] = (
    (FileNameRefused, mapping.FILE_NAME_SYNTAX_ERROR),
    (FileAccessRefused, mapping.FILE_ACCESS_DENIED),
    (FileMissing, mapping.FILE_NON_EXISTENT),
    (FilePositionRefused, mapping.FILE_POSITION_INVALID),
    (FileTooLarge, mapping.FILE_INSUFFICIENT_SPACE),
)


def failure_of(error: Exception) -> ServiceFailure:
    """The ServiceFailure (file class) of a file store refusal or an OS error."""
    if isinstance(error, ServiceFailure):
        return error
    for kind, code in FAILURES:
        if isinstance(error, kind):
            return ServiceFailure(code, str(error)[:200])
    return ServiceFailure(mapping.FILE_OTHER, str(error)[:200] or type(error).__name__)


def guarded(work: Callable[[], T]) -> Callable[[], T]:
    """``work`` whose file store and OS errors come back as ServiceFailure."""

    def run() -> T:
        try:
            return work()
        except (FileStoreError, OSError) as error:
            raise failure_of(error) from None

    return run


def file_name(name: FileName) -> str:
    """The store name of an MMS FileName (its GraphicStrings joined with ``/``)."""
    return "/".join(name.graphic_string)


def read_chunk(max_pdu_size: int) -> int:
    """Octets of file data per fileRead answer within ``max_pdu_size`` (hex: 2 per octet)."""
    return max(128, (max_pdu_size - READ_RESERVE) // 2)


@dataclass
class _Open:
    name: str
    stream: BinaryIO
    size: int


@dataclass
class _Files:
    """What one association has open."""

    scope: AssociationScope
    open: dict[int, _Open] = field(default_factory=dict)
    transfers: int = 0


class FileService:
    """The file services of one server over ``store`` (see the module doc)."""

    def __init__(
        self,
        core: ServerCore,
        store: FileStore,
        *,
        max_open: int = DEFAULT_MAX_OPEN,
        transfer_timeout: float = 30.0,
    ) -> None:
        self.core = core
        self.store = store
        self.max_open = max_open
        self.transfer_timeout = transfer_timeout
        self._frsm = itertools.count(1)
        self._by_association: dict[tuple[str, str], _Files] = {}
        core.handlers.files = self
        core.advertise(FILE_SERVICE_BITS)

    # ------------------------------------------------------------ per association

    def _files(self, call: CallContext) -> _Files:
        scope = call.scope
        assert scope is not None
        found = self._by_association.get(scope.owner)
        if found is None:
            found = _Files(scope)
            self._by_association[scope.owner] = found
            scope.on_close(lambda _why: self._closed(scope.owner))
        return found

    def _closed(self, owner: tuple[str, str]) -> None:
        files = self._by_association.pop(owner, None)
        if files is None:
            return
        for opened in files.open.values():
            self.core.post(Job(0, opened.stream.close))

    def _is_open(self, name: str) -> bool:
        return any(o.name == name for f in self._by_association.values() for o in f.open.values())

    # ------------------------------------------------------------ GetFile

    def file_open(self, call: CallContext, request: FileOpenRequest) -> FileOpenResponse:
        name = file_name(request.file_name)
        files = self._files(call)
        if len(files.open) + files.transfers >= self.max_open:
            raise ServiceFailure(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"{self.max_open} files open in this association already",
            )
        try:
            check_name(name)
        except FileStoreError as error:
            raise failure_of(error) from None
        position = request.initial_position

        def finish(result: tuple[BinaryIO, FileEntry]) -> FileOpenResponse:
            stream, entry = result
            if files.scope.closed_because is not None:
                stream.close()
                raise ServiceFailure(mapping.FILE_OTHER, "the association ended")
            frsm = next(self._frsm)
            files.open[frsm] = _Open(name, stream, entry.size)
            return FileOpenResponse(frsm_id=frsm, file_attributes=_attributes(entry))

        raise Deferred(guarded(lambda: self.store.open(name, position)), finish)

    def _opened(self, call: CallContext, frsm: int) -> _Open:
        opened = self._files(call).open.get(frsm)
        if opened is None:
            raise ServiceFailure(mapping.FILE_OTHER, f"no file open as frsmID {frsm}")
        return opened

    def file_read(self, call: CallContext, request: int) -> FileReadResponse:
        opened = self._opened(call, request)
        chunk = read_chunk(call.max_pdu_size)

        def work() -> tuple[bytes, bool]:
            data = opened.stream.read(chunk)
            return data, opened.stream.tell() < opened.size

        def finish(result: tuple[bytes, bool]) -> FileReadResponse:
            data, more = result
            return FileReadResponse(file_data=data, more_follows=boolean(more))

        raise Deferred(guarded(work), finish)

    def file_close(self, call: CallContext, request: int) -> Null:
        opened = self._opened(call, request)
        del self._files(call).open[request]
        raise Deferred(guarded(opened.stream.close), lambda _result: Null())

    # ------------------------------------------------------------ DeleteFile, directory

    def file_delete(self, call: CallContext, request: FileName) -> Null:
        name = file_name(request)
        if self._is_open(name):
            raise ServiceFailure(mapping.FILE_BUSY, f"{name[:80]!r} is open")
        raise Deferred(guarded(lambda: self.store.delete(name)), lambda _result: Null())

    def file_directory(
        self, call: CallContext, request: FileDirectoryRequest
    ) -> FileDirectoryResponse:
        """The store's files (or one folder's, or one file's), paged as getNameList is."""
        wanted = file_name(request.file_specification) if request.file_specification else None
        after = file_name(request.continue_after) if request.continue_after else None
        budget = max(call.max_pdu_size - PAGE_RESERVE, 300)

        def work() -> list[FileEntry]:
            if wanted is None:
                return self.store.entries()
            if self.store.is_folder(wanted):
                return self.store.entries(wanted)
            return [self.store.entry(wanted)]

        def finish(entries: list[FileEntry]) -> FileDirectoryResponse:
            start = 0
            if after is not None:
                names = [e.name for e in entries]
                if after not in names:
                    raise ServiceFailure(
                        mapping.SERVICE_CONTINUATION_INVALID, "continueAfter unknown"
                    )
                start = names.index(after) + 1
            page: list[DirectoryEntry] = []
            room = budget
            for entry in entries[start:]:
                cost = len(entry.name.encode()) + FILE_ENTRY_OVERHEAD
                if cost > room and page:
                    break
                room -= cost
                page.append(
                    DirectoryEntry(
                        file_name=FileName(graphic_string=[entry.name]),
                        file_attributes=_attributes(entry),
                    )
                )
            more = start + len(page) < len(entries)
            return FileDirectoryResponse(
                list_of_directory_entry=ListOfDirectoryEntry(directory_entry=page),
                more_follows=boolean(more),
            )

        raise Deferred(guarded(work), finish)

    # ------------------------------------------------------------ SetFile

    def obtain_file(self, call: CallContext, request: ObtainFileRequest) -> Null:
        source = file_name(request.source_file)
        destination = file_name(request.destination_file)
        files = self._files(call)
        if len(files.open) + files.transfers >= self.max_open:
            raise ServiceFailure(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"{self.max_open} files open in this association already",
            )
        if not source or len(source) > 255:
            raise ServiceFailure(mapping.FILE_NAME_SYNTAX_ERROR, "sourceFile: 1 to 255 characters")
        try:
            upload = self.store.upload(destination)
        except (FileStoreError, OSError) as error:
            raise failure_of(error) from None
        deferred = Deferred(None, lambda entry: Null())
        transfer = _Transfer(self, call, files, source, upload, deferred)
        files.transfers += 1
        transfer.start(call.now)
        raise deferred


class _Transfer:
    """One SetFile: the requests to the client, the chunks to the upload, then the answer."""

    def __init__(
        self,
        service: FileService,
        call: CallContext,
        files: _Files,
        source: str,
        upload: Upload,
        deferred: Deferred,
    ) -> None:
        self.service = service
        self.core = service.core
        self.peer = call.peer
        self.association_id = call.association_id
        self.files = files
        self.source = source
        self.upload = upload
        self.deferred = deferred
        self.frsm: int | None = None
        self.received = 0
        self.invoke_ids = itertools.count(1)
        self.ended = False
        self.error: Exception | None = None
        files.scope.on_close(lambda why: self.fail(ServiceFailure(mapping.FILE_OTHER, why)))

    def _send(
        self, iq_type: str, pdu: Any, on_answer: Callable[[Answer], None], now: float
    ) -> None:
        self.core.request(
            self.peer,
            self.association_id,
            iq_type,
            pdu,
            on_answer,
            now,
            self.service.transfer_timeout,
        )

    def start(self, now: float) -> None:
        request = FileOpenRequest(
            file_name=FileName(graphic_string=[self.source]), initial_position=0
        )
        self._send(
            "set", services.file_open_request(next(self.invoke_ids), request), self._opened, now
        )

    def _response(self, answer: Answer) -> Any:
        """The service response of ``answer``; raises ServiceFailure for anything else."""
        if isinstance(answer, Exception):
            raise ServiceFailure(mapping.FILE_OTHER, f"the client: {answer}"[:200])
        if answer.confirmed_error_pdu is not None:
            error = pdus.error_of(answer.confirmed_error_pdu.service_error)
            raise ServiceFailure(mapping.FILE_OTHER, f"the client refused: {error}"[:200])
        if answer.confirmed_response_pdu is None:
            raise ServiceFailure(mapping.FILE_OTHER, "the client answered with no response")
        return answer.confirmed_response_pdu

    def _opened(self, answer: Answer) -> None:
        try:
            response = services.file_open_response(self._response(answer))
        except Exception as error:
            self.fail(error)
            return
        self.frsm = response.frsm_id
        size = response.file_attributes.size_of_file
        if size > self.service.store.max_file_size:
            self.fail(
                ServiceFailure(
                    mapping.FILE_INSUFFICIENT_SPACE,
                    f"{size} octets, the store takes {self.service.store.max_file_size}",
                )
            )
            return
        self._read()

    def _read(self) -> None:
        assert self.frsm is not None
        now = self.core.now
        self._send(
            "get", services.file_read_request(next(self.invoke_ids), self.frsm), self._chunk, now
        )

    def _chunk(self, answer: Answer) -> None:
        if self.ended:
            return
        try:
            response = services.file_read_response(self._response(answer))
        except Exception as error:
            self.fail(error)
            return
        data = response.file_data
        self.received += len(data)
        if self.received > self.service.store.max_file_size:
            self.fail(FileTooLarge(f"more than {self.service.store.max_file_size} octets"))
            return
        upload = self.upload
        self.core.post(Job(0, lambda: self._write(upload, data)))
        more = response.more_follows is None or is_true(response.more_follows)
        if more and data:
            self._read()
        else:
            self._close_remote()
            self._finish()

    def _write(self, upload: Upload, data: bytes) -> None:
        """In the worker thread: a chunk to the upload (the first error is kept)."""
        if self.error is not None:
            return
        try:
            upload.write(data)
        except (FileStoreError, OSError) as error:
            self.error = error

    def _close_remote(self) -> None:
        if self.frsm is None:
            return
        frsm, self.frsm = self.frsm, None
        now = self.core.now
        self._send(
            "set", services.file_close_request(next(self.invoke_ids), frsm), lambda _a: None, now
        )

    def _finish(self) -> None:
        """The last job: move the upload in (or report the first error); answers obtainFile."""
        if self.ended:
            return
        self.ended = True
        self.files.transfers -= 1

        def commit() -> FileEntry:
            if self.error is not None:
                self.upload.abort()
                raise failure_of(self.error)
            try:
                return self.upload.commit()
            except (FileStoreError, OSError) as error:
                raise failure_of(error) from None

        self.core.post(Job(self.deferred.token, commit))

    def fail(self, error: Exception) -> None:
        if self.ended:
            return
        self.ended = True
        self.files.transfers -= 1
        self._close_remote()
        failure = failure_of(error)
        upload = self.upload

        def abort() -> None:
            upload.abort()
            raise failure

        self.core.post(Job(self.deferred.token, abort))


def _attributes(entry: FileEntry) -> FileAttributes:
    return FileAttributes(
        size_of_file=entry.size, last_modified=generalized_time(max(entry.modified, 0.0))
    )


__all__ = [
    "FILE_SERVICE_BITS",
    "READ_RESERVE",
    "FileService",
    "failure_of",
    "file_name",
    "read_chunk",
]
