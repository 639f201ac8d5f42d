"""BRCB buffers and logs in an embedded SQLite database, so a restarted server keeps them.

One file per served IED (``ReportSettings(journal=PATH)``, ``serve --report-store``):
table ``rcb`` holds each BRCB's state as JSON (its configuration as clients set it,
reservation, where sending stands), table ``entry`` its buffered entries (values as JSON
of the MMS Data), table ``log_entry`` the entries of each log (``LD/LN$LogName``). The
engines never wait for it: they queue the writes as jobs that the server's worker thread
runs in order, and log queries run there too (WAL journal, synchronous NORMAL: a commit
does not wait for the disk; a crash of the machine may lose the last entries, a crash of
the server does not).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from gen61850.generated.scsm_8_2.bindings import AccessResult, Data, DataList
from gen61850.runtime.xmpp.errors import LocalError
from gen61850.runtime.xmpp.reports.buffer import Entry
from gen61850.runtime.xmpp.reports.pdu import Included
from gen61850.runtime.xmpp.values import boolean, is_true

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rcb (reference TEXT PRIMARY KEY, state TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entry (reference TEXT NOT NULL, id INTEGER NOT NULL, "
    "body TEXT NOT NULL, PRIMARY KEY (reference, id))",
    "CREATE TABLE IF NOT EXISTS log_entry (log TEXT NOT NULL, id INTEGER NOT NULL, "
    "time REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (log, id))",
    "CREATE INDEX IF NOT EXISTS log_entry_time ON log_entry (log, time)",
)
_OCTETS = ("floating_point", "octet_string", "binary_time", "utc_time")
_PLAIN = ("bit_string", "integer", "unsigned", "visible_string", "m_msstring")


def data_json(data: Data) -> Any:
    """MMS Data as JSON (``[kind, value]``), for the journal."""
    if data.structure is not None:
        return ["structure", [data_json(d) for d in data.structure.data]]
    if data.array is not None:
        return ["array", [data_json(d) for d in data.array.data]]
    if data.boolean is not None:
        return ["boolean", is_true(data.boolean)]
    for name in _OCTETS:
        value = getattr(data, name)
        if value is not None:
            return [name, value.hex()]
    for name in _PLAIN:
        value = getattr(data, name)
        if value is not None:
            return [name, value]
    raise ValueError("an empty Data")


def json_data(value: Any) -> Data:
    """The Data of ``data_json``'s output (ValueError for anything else)."""
    kind, inner = value
    data = Data()
    if kind in ("structure", "array"):
        setattr(data, kind, DataList(data=[json_data(v) for v in inner]))
    elif kind == "boolean":
        data.boolean = boolean(bool(inner))
    elif kind in _OCTETS:
        setattr(data, kind, bytes.fromhex(inner))
    elif kind in _PLAIN:
        setattr(data, kind, inner)
    else:
        raise ValueError(f"unknown Data kind {kind!r}")
    return data


def entry_json(entry: Entry) -> str:
    members = [
        [
            m.position,
            m.reference,
            {"f": m.value.failure}
            if m.value.success is None
            else {"d": data_json(m.value.success)},
            m.reasons,
        ]
        for m in entry.members
    ]
    return json.dumps({"time": entry.time, "count": entry.member_count, "members": members})


def json_entry(entry_id: int, text: str) -> Entry:
    body = json.loads(text)
    members = []
    for position, reference, value, reasons in body["members"]:
        result = (
            AccessResult(failure=value["f"])
            if "f" in value
            else AccessResult(success=json_data(value["d"]))
        )
        members.append(Included(position, reference, result, reasons))
    return Entry(entry_id, float(body["time"]), int(body["count"]), members)


class ReportJournal:
    """The SQLite file of one server's BRCBs (used from one thread at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                self._db.execute(statement)
        except sqlite3.Error as error:
            raise LocalError(f"report store {self.path}: {error}") from None

    def load(self) -> dict[str, tuple[dict[str, Any], list[Entry]]]:
        """Every BRCB's saved state and entries (oldest first), by RCB reference."""
        with self._lock:
            states = dict(self._db.execute("SELECT reference, state FROM rcb"))
            loaded: dict[str, tuple[dict[str, Any], list[Entry]]] = {}
            for reference, state in states.items():
                rows = self._db.execute(
                    "SELECT id, body FROM entry WHERE reference = ? ORDER BY id", (reference,)
                )
                loaded[reference] = (json.loads(state), [json_entry(i, b) for i, b in rows])
            return loaded

    def append(self, reference: str, entry: Entry) -> None:
        self._run(
            "INSERT OR REPLACE INTO entry (reference, id, body) VALUES (?, ?, ?)",
            (reference, entry.entry_id, entry_json(entry)),
        )

    def evict(self, reference: str, up_to: int) -> None:
        """Drop the entries of ``reference`` with ids up to ``up_to``."""
        self._run("DELETE FROM entry WHERE reference = ? AND id <= ?", (reference, up_to))

    def purge(self, reference: str) -> None:
        self._run("DELETE FROM entry WHERE reference = ?", (reference,))

    def save_state(self, reference: str, state: dict[str, Any]) -> None:
        self._run(
            "INSERT OR REPLACE INTO rcb (reference, state) VALUES (?, ?)",
            (reference, json.dumps(state, sort_keys=True)),
        )

    # ---------------------------------------------------------------- logs

    def log_index(self) -> dict[str, list[tuple[int, float]]]:
        """(id, time) of every log entry, oldest first, by log."""
        with self._lock:
            index: dict[str, list[tuple[int, float]]] = {}
            for log, entry_id, time in self._db.execute(
                "SELECT log, id, time FROM log_entry ORDER BY log, id"
            ):
                index.setdefault(log, []).append((int(entry_id), float(time)))
            return index

    def log_append(self, log: str, entry: Entry) -> None:
        self._run(
            "INSERT OR REPLACE INTO log_entry (log, id, time, body) VALUES (?, ?, ?, ?)",
            (log, entry.entry_id, entry.time, entry_json(entry)),
        )

    def log_evict(self, log: str, up_to: int) -> None:
        self._run("DELETE FROM log_entry WHERE log = ? AND id <= ?", (log, up_to))

    def log_entries(self, log: str, ids: list[int]) -> list[Entry]:
        """The entries ``ids`` of ``log`` that are still there, in id order."""
        if not ids:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM log_entry WHERE log = ? AND id BETWEEN ? AND ? ORDER BY id",
                (log, min(ids), max(ids)),
            )
            wanted = set(ids)
            return [json_entry(i, b) for i, b in rows if i in wanted]

    def _run(self, statement: str, parameters: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(statement, parameters)

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["ReportJournal", "data_json", "entry_json", "json_data", "json_entry"]
