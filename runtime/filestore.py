"""A server's file store: one folder, and nothing outside it reachable.

Names are relative paths with ``/`` between parts (``COMTRADE/fault1.cfg``). A name is
refused before the file system sees it when it is empty, longer than ``MAX_NAME``, holds a
NUL or another control character or a backslash, starts with ``/`` (absolute) or a drive
letter, or has an empty, ``.`` or ``..`` part (``FileNameRefused``, syntax). Every open
goes down from the folder one part at a time with ``O_NOFOLLOW`` (``openat``): a symbolic
link anywhere on the path is refused (``FileAccessRefused``), even one swapped in between a
check and the open. Listings skip symbolic links and the folder where uploads are written.

Files are read in chunks through the open file (never loaded whole); an upload goes to a
temporary file in the store's ``.partial`` folder and replaces its destination only when
complete (``os.replace``), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_NAME = 255
PARTIAL = ".partial"  # uploads in progress (not listed, not reachable by name)
_BAD_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class FileStoreError(Exception):
    """A file operation refused: ``kind`` says which way (see the subclasses)."""


class FileNameRefused(FileStoreError):
    """The name itself is not allowed (syntax: absolute, ``..``, NUL, ...)."""


class FileAccessRefused(FileStoreError):
    """The name leads through a symbolic link, to a folder, or outside the store."""


class FileMissing(FileStoreError):
    """No such file."""


class FileTooLarge(FileStoreError):
    """An upload larger than the store takes."""


@dataclass(frozen=True)
class FileEntry:
    """One file: its name in the store, size in octets, modification time (POSIX s)."""

    name: str
    size: int
    modified: float


def check_name(name: str) -> list[str]:
    """The parts of ``name``; FileNameRefused saying why it is not a name in the store."""
    shown = name[:80].encode("unicode_escape").decode("ascii")
    if not name:
        raise FileNameRefused("an empty file name")
    if len(name) > MAX_NAME:
        raise FileNameRefused(f"{shown}...: longer than {MAX_NAME} characters")
    bad = _BAD_CHARACTERS.search(name)
    if bad is not None:
        what = "a backslash" if bad.group() == "\\" else f"U+{ord(bad.group()):04X}"
        raise FileNameRefused(f"{shown!r}: {what} at {bad.start()}")
    if name.startswith("/") or _DRIVE.match(name):
        raise FileNameRefused(f"{shown!r}: an absolute name")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise FileNameRefused(f"{shown!r}: a part {part!r} (only plain names between /)")
    if parts[0] == PARTIAL:
        raise FileAccessRefused(f"{shown!r}: uploads in progress are not files yet")
    return parts


class FileStore:
    """Files below ``root`` (see the module doc); ``max_file_size`` bounds uploads."""

    def __init__(self, root: Path, *, max_file_size: int = 1 << 30) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileStoreError(f"{self.root}: not a folder")
        self.max_file_size = max_file_size

    # ------------------------------------------------------------ reaching files

    def _folder(self, parts: list[str], *, create: bool = False) -> int:
        """A descriptor of the folder holding ``parts[-1]``, reached without links."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=fd)
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = inner
        except OSError as error:
            os.close(fd)
            raise _refusal(error, "/".join(parts)) from None
        return fd

    def open(self, name: str, position: int = 0) -> tuple[BinaryIO, FileEntry]:
        """The file ``name`` open for reading at ``position``, and its entry."""
        parts = check_name(name)
        folder = self._folder(parts)
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
        except OSError as error:
            raise _refusal(error, name) from None
        finally:
            os.close(folder)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise FileAccessRefused(f"{name!r}: not a file")
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
        if position > info.st_size:
            stream.close()
            raise FilePositionRefused(
                f"{name!r}: position {position} past its {info.st_size} octets"
            )
        stream.seek(position)
        return stream, FileEntry(name, info.st_size, info.st_mtime)

    def entry(self, name: str) -> FileEntry:
        stream, entry = self.open(name)
        stream.close()
        return entry

    def is_folder(self, name: str) -> bool:
        """Is ``name`` a folder of the store (reached without links)?"""
        parts = check_name(name)
        try:
            fd = self._folder([*parts, "."])
        except FileStoreError:
            return False
        os.close(fd)
        return True

    def delete(self, name: str) -> None:
        parts = check_name(name)
        folder = self._folder(parts)
        try:
            info = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                raise FileAccessRefused(f"{name!r}: not a file")
            os.unlink(parts[-1], dir_fd=folder)
        except OSError as error:
            raise _refusal(error, name) from None
        finally:
            os.close(folder)

    def entries(self, under: str | None = None) -> list[FileEntry]:
        """Every file below the store (or below folder ``under``), by name; links skipped.
        The walk goes through folder descriptors, never through a path, like ``open``."""
        parts = check_name(under) if under else []
        try:
            fd = self._folder([*parts, "."])
        except FileMissing:
            raise FileMissing(f"no folder {under!r}") from None
        try:
            found = list(_walk(fd, f"{under}/" if under else ""))
        finally:
            os.close(fd)
        return sorted(found, key=lambda e: e.name)

    # ------------------------------------------------------------ uploads

    def upload(self, name: str) -> Upload:
        """A new upload to ``name`` (written to ``.partial``, moved in by ``commit``)."""
        parts = check_name(name)
        partial = self.root / PARTIAL
        partial.mkdir(exist_ok=True)
        if partial.is_symlink() or not partial.is_dir():
            raise FileAccessRefused(f"{partial}: not a folder of the store")
        temporary = f"{uuid.uuid4().hex}.part"
        folder = os.open(partial, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fd = os.open(
                temporary,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                0o640,
                dir_fd=folder,
            )
        finally:
            os.close(folder)
        return Upload(self, parts, partial / temporary, os.fdopen(fd, "wb"))


class FilePositionRefused(FileStoreError):
    """A position past the end of the file."""


class Upload:
    """An upload in progress: ``write`` chunks, then ``commit`` (or ``abort``)."""

    def __init__(self, store: FileStore, parts: list[str], path: Path, stream: BinaryIO) -> None:
        self.store = store
        self.parts = parts
        self.path = path
        self.stream = stream
        self.size = 0
        self.done = False

    @property
    def name(self) -> str:
        return "/".join(self.parts)

    def write(self, data: bytes) -> None:
        if self.done:
            raise FileStoreError(f"{self.name!r}: the upload has ended")
        if self.size + len(data) > self.store.max_file_size:
            self.abort()
            raise FileTooLarge(f"{self.name!r}: more than {self.store.max_file_size} octets")
        self.stream.write(data)
        self.size += len(data)

    def commit(self) -> FileEntry:
        """Move the complete file to its name (replacing a file there); its entry."""
        if self.done:
            raise FileStoreError(f"{self.name!r}: the upload has ended")
        self.done = True
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        folder = self.store._folder(self.parts, create=True)
        try:
            target = os.stat(self.parts[-1], dir_fd=folder, follow_symlinks=False)
            if not stat.S_ISREG(target.st_mode):
                raise FileAccessRefused(f"{self.name!r}: a folder or link is there")
        except FileNotFoundError:
            pass
        except FileStoreError:
            os.close(folder)
            self.path.unlink(missing_ok=True)
            raise
        try:
            source = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.replace(self.path.name, self.parts[-1], src_dir_fd=source, dst_dir_fd=folder)
            finally:
                os.close(source)
            info = os.stat(self.parts[-1], dir_fd=folder, follow_symlinks=False)
        finally:
            os.close(folder)
        return FileEntry(self.name, info.st_size, info.st_mtime)

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        self.stream.close()
        self.path.unlink(missing_ok=True)


def _walk(folder: int, prefix: str) -> Iterator[FileEntry]:
    """The files below the folder open as ``folder``; subfolders opened without links."""
    with os.scandir(folder) as scan:
        items = list(scan)
    for item in items:
        if item.is_symlink() or (not prefix and item.name == PARTIAL):
            continue
        if item.is_dir(follow_symlinks=False):
            try:
                inner = os.open(
                    item.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder
                )
            except OSError:  # swapped for a link, or gone: not ours to list
                continue
            try:
                yield from _walk(inner, f"{prefix}{item.name}/")
            finally:
                os.close(inner)
        elif item.is_file(follow_symlinks=False):
            info = item.stat(follow_symlinks=False)
            yield FileEntry(prefix + item.name, info.st_size, info.st_mtime)


def _refusal(error: OSError, name: str) -> FileStoreError:
    if error.errno in (errno.ELOOP, errno.EMLINK):
        return FileAccessRefused(f"{name!r}: a symbolic link on the way")
    if error.errno == errno.ENOTDIR:
        return FileAccessRefused(f"{name!r}: a part is not a folder (or is a link)")
    if error.errno == errno.ENOENT:
        return FileMissing(f"no file {name!r}")
    if error.errno in (errno.EISDIR,):
        return FileAccessRefused(f"{name!r}: a folder")
    return FileAccessRefused(f"{name!r}: {os.strerror(error.errno or 0)}")


__all__ = [
    "MAX_NAME",
    "PARTIAL",
    "FileAccessRefused",
    "FileEntry",
    "FileMissing",
    "FileNameRefused",
    "FilePositionRefused",
    "FileStore",
    "FileStoreError",
    "FileTooLarge",
    "Upload",
    "check_name",
]
