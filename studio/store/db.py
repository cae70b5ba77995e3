"""Opening the library file: WAL, foreign keys, busy timeout, migrations, corrupt-file recovery.

A file that SQLite cannot read as a database (garbage, truncated, malformed pages) is moved aside
under a timestamped name, a warning says where it went, and a fresh library is started. Nothing is
ever deleted: a file that cannot be moved aside is an error, not a wipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from studio.store.schema import SchemaTooNewError, migrate

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Above this size the full integrity scan is skipped at open (it reads every page: ~5 ms/MB here).
QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024
_MAGIC = b"SQLite format 3\x00"
# Messages SQLite gives for a file that is not (or no longer) a readable database.
_CORRUPT_HINTS = ("not a database", "malformed", "disk image", "file is encrypted", "unsupported file format")


class StoreError(Exception):
    """A library problem, told in one sentence fit for the user."""


@dataclass(frozen=True, slots=True)
class Recovery:
    """A corrupt library that was moved aside when opening.

    Attributes:
        original: where the library was.
        moved_to: where the unreadable file now is (kept for the user or a rescue tool).
        reason: what SQLite said about it.
    """

    original: Path
    moved_to: Path
    reason: str

    @property
    def message(self) -> str:
        """One clear sentence for a dialog or stderr."""
        return (
            f"The library {self.original} could not be read ({self.reason}). It was moved to "
            f"{self.moved_to} and a new, empty library was started."
        )


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection with the library's pragmas (autocommit mode: callers use :func:`transaction`)."""
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal" and str(path) != ":memory:":
            log.warning("the library %s is not in WAL mode (%s)", path, mode)
        # WAL + NORMAL: a committed write survives a killed process (not a power cut mid-checkpoint).
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    """BEGIN (IMMEDIATE) ... COMMIT, or ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(hint in text for hint in _CORRUPT_HINTS)


def header_problem(path: Path) -> str | None:
    """What the 100-byte file header says is wrong (not SQLite, or truncated), else None."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return None
    if len(head) < 100 or not head.startswith(_MAGIC):
        return "file is not a database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the in-header size is trusted only when this matches
    if valid and pages and size < pages * page_size:
        return f"database disk image is malformed: truncated to {size} of {pages * page_size} bytes"
    return None


def _check(conn: sqlite3.Connection, path: Path) -> str | None:
    """None when the file reads as a sound database, else what is wrong with it."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    if path.exists() and path.stat().st_size > QUICK_CHECK_MAX_BYTES:
        return None
    rows = conn.execute("PRAGMA quick_check").fetchall()
    problems = [str(r[0]) for r in rows if str(r[0]).lower() != "ok"]
    return "; ".join(problems[:3]) if problems else None


def _open_checked(path: Path, *, check: bool) -> sqlite3.Connection:
    if check:
        problem = header_problem(path)  # before SQLite touches the file
        if problem:
            raise sqlite3.DatabaseError(problem)
    conn = connect(path)
    try:
        if check:
            problem = _check(conn, path)
            if problem:
                raise sqlite3.DatabaseError(f"database disk image is malformed: {problem}")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def move_aside(path: Path, reason: str) -> Recovery:
    """Rename the library (and its -wal/-shm files) to ``<name>.corrupt-<UTC time>``.

    Raises:
        StoreError: the file could not be moved (it is then left exactly as it was).
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    try:
        os.replace(path, target)
    except OSError as exc:
        raise StoreError(
            f"The library {path} could not be read ({reason}) and could not be moved aside "
            f"({exc.strerror or exc}); nothing was changed."
        ) from exc
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            try:
                os.replace(side, target.with_name(target.name + suffix))
            except OSError as exc:
                log.warning("could not move %s aside: %s", side, exc)
    recovery = Recovery(path, target, reason)
    log.warning("%s", recovery.message)
    return recovery


def open_database(path: Path | str, *, check: bool = True) -> tuple[sqlite3.Connection, Recovery | None]:
    """Open (or create) the library at ``path``, migrated to the latest schema.

    Args:
        path: the SQLite file; its folder is created.
        check: check the header and run ``PRAGMA quick_check`` (up to :data:`QUICK_CHECK_MAX_BYTES`)
            first (the app's first open; extra connections skip it).

    Returns:
        The connection and, when the old file was unreadable and moved aside, a :class:`Recovery`.

    Raises:
        StoreError: the folder cannot be created, the library is busy, or it comes from a newer app.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the library folder {path.parent} ({exc.strerror or exc})") from exc
    if path.is_dir():  # nothing to recover: a folder is in the library file's place
        raise StoreError(f"cannot open the library: {path} is a folder, not a file (move it aside)")
    recovery: Recovery | None = None
    try:
        return _open_checked(path, check=check), None
    except SchemaTooNewError as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        unreadable = path.exists() and not os.access(path, os.R_OK)
        if not (_is_corrupt(exc) or unreadable):
            raise StoreError(f"cannot open the library {path} ({exc})") from exc
        recovery = move_aside(path, str(exc) if not unreadable else "permission denied")
    try:
        return _open_checked(path, check=False), recovery
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot start a new library at {path} ({exc})") from exc
