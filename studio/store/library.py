"""The library: conversations as trees of messages, attachments, search (SQLite, no Qt).

One :class:`Library` holds one connection; use it from one thread at a time. Writes that must not
block the GUI thread (a streaming answer, versions) go through :class:`studio.store.writer.LibraryWriter`,
which owns its own Library on its own thread. WAL lets both read and write side by side.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from studio.core.attachments import Attachment
from studio.store import paths
from studio.store.db import Recovery, open_database, transaction
from studio.store.gallery import GalleryMixin
from studio.store.records import (
    ConversationSummary,
    StoredConversation,
    StoredMessage,
    make_title,
    new_id,
)
from studio.store.search import SUMMARY_SQL, SearchMixin, fts_query, snippet, summary_row
from studio.store.versions import VersionsMixin

log = logging.getLogger(__name__)

# An answer whose writer has not touched it for this long is taken as interrupted.
STALE_AFTER_S = 15.0
_CURRENT = object()  # "the conversation's current leaf" as a default parent
_MSG_COLS = (
    "id, conversation_id, parent_id, role, content, state, finish_reason, error, stats, created, updated"
)


def writer_tag() -> str:
    """``host:pid`` of this process, stored with an answer while it streams."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no safe probe: rely on staleness alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Library(SearchMixin, VersionsMixin, GalleryMixin):
    """The conversations store.

    Args:
        path: the SQLite file (default: ``library.db`` in the per-user data folder).
        check: run an integrity check on open, and move a corrupt file aside.
        maintenance: mark answers whose writer died as interrupted (the app's first open).

    Attributes:
        recovery: set when a corrupt file was moved aside on open (show ``recovery.message``).
        interrupted_on_open: answers found cut off by a crash when opening (0 without maintenance).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, check: bool = True, maintenance: bool = True
    ):
        self.path = Path(path) if path is not None else paths.library_path()
        self.conn, self.recovery = open_database(self.path, check=check)
        self.interrupted_on_open = self.mark_interrupted() if maintenance else 0

    @classmethod
    def at(cls, data_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> Library:
        """Open the library of a data folder (``--data-dir``, ``$STUDIO_DATA_DIR`` or the default)."""
        return cls(paths.library_path(data_dir), **kwargs)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conversations -------------------------------------------------------------------

    def create_conversation(self, title: str = "", *, conversation_id: str | None = None) -> str:
        """A new, empty conversation; returns its id (the title is made from the first prompt if empty)."""
        cid = conversation_id or new_id()
        now = time.time()
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO conversations (id, title, created, updated) VALUES (?, ?, ?, ?)",
                (cid, title, now, now),
            )
        return cid

    def rename(self, conversation_id: str, title: str) -> None:
        """Set a conversation's title."""
        with transaction(self.conn):
            self._require(conversation_id)
            self.conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title.strip(), conversation_id)
            )

    def delete(self, conversation_id: str) -> None:
        """Move a conversation to the trash (undo with :meth:`undelete`; :meth:`purge_deleted` empties it)."""
        with transaction(self.conn):
            self._require(conversation_id)
            self.conn.execute(
                "UPDATE conversations SET deleted = ? WHERE id = ?", (time.time(), conversation_id)
            )

    def undelete(self, conversation_id: str) -> None:
        """Bring a deleted conversation back."""
        with transaction(self.conn):
            self._require(conversation_id)
            self.conn.execute("UPDATE conversations SET deleted = NULL WHERE id = ?", (conversation_id,))

    def purge_deleted(self, older_than_s: float = 0.0) -> int:
        """Remove conversations deleted more than ``older_than_s`` ago, for good; returns how many."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "DELETE FROM conversations WHERE deleted IS NOT NULL AND deleted <= ?",
                (time.time() - older_than_s,),
            )
        return cur.rowcount

    def list_conversations(self, limit: int | None = None, offset: int = 0) -> list[ConversationSummary]:
        """Conversations, newest change first (deleted ones left out)."""
        rows = self.conn.execute(
            SUMMARY_SQL + " WHERE c.deleted IS NULL ORDER BY c.updated DESC, c.n DESC LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset),
        ).fetchall()
        return [summary_row(r) for r in rows]

    def summary(self, conversation_id: str) -> ConversationSummary:
        """One conversation's sidebar row; raises KeyError."""
        row = self.conn.execute(SUMMARY_SQL + " WHERE c.id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        return summary_row(row)

    def find_conversation(self, prefix: str) -> str:
        """The id of the one conversation whose id starts with ``prefix``.

        Raises:
            KeyError: none or several match (the message says which).
        """
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.conn.execute(
            "SELECT id FROM conversations WHERE id LIKE ? ESCAPE '\\' AND deleted IS NULL LIMIT 2", (like,)
        ).fetchall()
        if len(rows) != 1:
            raise KeyError(
                f"no conversation {prefix!r}" if not rows else f"{prefix!r} matches several conversations"
            )
        return str(rows[0][0])

    # -- messages ------------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str = "",
        *,
        parent_id: Any = _CURRENT,
        message_id: str | None = None,
        attachments: Sequence[Attachment] = (),
        state: str = "done",
        finish_reason: str | None = None,
        error: str | None = None,
        stats: dict[str, Any] | None = None,
        make_current: bool = True,
    ) -> StoredMessage:
        """Add a message to the tree (edit and regenerate add a sibling: pass the sibling's parent).

        Args:
            conversation_id: the conversation.
            role: "user", "assistant" or "system".
            content: the text (an answer may start empty and grow: see :meth:`update_content`).
            parent_id: the message it follows; default the current leaf; None for a first turn.
            message_id: keep the in-memory tree's id; default a new uuid4 hex.
            attachments: files sent with a user message.
            state: "streaming" while an answer is being written.
            make_current: move the current leaf to the new message.
        """
        now = time.time()
        mid = message_id or new_id()
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT current_id, title FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise KeyError(conversation_id)
            parent = row[0] if parent_id is _CURRENT else parent_id
            self.conn.execute(
                "INSERT INTO messages (id, conversation_id, parent_id, role, content, created, updated, state,"
                " finish_reason, error, stats, writer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mid,
                    conversation_id,
                    parent,
                    role,
                    content,
                    now,
                    now,
                    state,
                    finish_reason,
                    error,
                    json.dumps(stats or {}),
                    writer_tag() if state == "streaming" else None,
                ),
            )
            self.conn.executemany(
                "INSERT INTO attachments (message_id, name, size, kind, mime, data, prompt_text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(mid, a.name, a.size, a.kind, a.mime, a.data, a.prompt_text) for a in attachments],
            )
            title = row[1] or (make_title(content) if role == "user" else "")
            current = mid if make_current else row[0]
            self.conn.execute(
                "UPDATE conversations SET updated = ?, current_id = ?, title = ? WHERE id = ?",
                (now, current, title, conversation_id),
            )
        return StoredMessage(
            mid,
            conversation_id,
            parent,
            role,
            content,
            tuple(attachments),
            state,  # type: ignore[arg-type]
            finish_reason,
            error,
            dict(stats or {}),
            now,
            now,
        )

    def update_content(self, message_id: str, content: str) -> None:
        """Replace a (streaming) message's text; also stamps it as alive."""
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE messages SET content = ?, updated = ? WHERE id = ?",
                (content, time.time(), message_id),
            )

    def touch(self, message_ids: Iterable[str]) -> None:
        """Stamp streaming messages as alive without changing their text (a long prefill)."""
        now = time.time()
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE messages SET updated = ? WHERE id = ?", [(now, m) for m in message_ids]
            )

    def finish_message(
        self,
        message_id: str,
        content: str,
        finish_reason: str,
        error: str | None = None,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Record the end of an answer (its final text and how it ended)."""
        now = time.time()
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE messages SET content = ?, state = 'done', finish_reason = ?, error = ?, stats = ?,"
                " updated = ?, writer = NULL WHERE id = ? RETURNING conversation_id",
                (content, finish_reason, error, json.dumps(stats or {}), now, message_id),
            )
            row = cur.fetchone()
            if row is None:
                raise KeyError(message_id)
            self.conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, row[0]))

    def set_current(self, conversation_id: str, leaf_id: str) -> None:
        """Make ``leaf_id`` the conversation's current leaf (the branch the chat shows)."""
        with transaction(self.conn):
            self._require_message(conversation_id, leaf_id)
            self.conn.execute(
                "UPDATE conversations SET current_id = ? WHERE id = ?", (leaf_id, conversation_id)
            )

    def switch_to(self, message_id: str) -> str:
        """Show the branch through ``message_id``: its newest leaf becomes current; returns that leaf."""
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise KeyError(message_id)
            leaf = message_id
            while True:
                child = self.conn.execute(
                    "SELECT id FROM messages WHERE parent_id = ? ORDER BY n DESC LIMIT 1", (leaf,)
                ).fetchone()
                if child is None:
                    break
                leaf = child[0]
            self.conn.execute("UPDATE conversations SET current_id = ? WHERE id = ?", (leaf, row[0]))
        return str(leaf)

    def load(self, conversation_id: str) -> StoredConversation:
        """The whole tree of a conversation (deleted ones too); raises KeyError."""
        conv = self.conn.execute(
            "SELECT id, title, current_id, created, updated FROM conversations WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if conv is None:
            raise KeyError(conversation_id)
        atts: dict[str, list[Attachment]] = {}
        for row in self.conn.execute(
            "SELECT a.message_id, a.name, a.size, a.kind, a.mime, a.data, a.prompt_text FROM attachments a"
            " JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ? ORDER BY a.n",
            (conversation_id,),
        ):
            atts.setdefault(row[0], []).append(
                Attachment(row[1], row[2], row[3], row[4], bytes(row[5]), row[6])
            )
        rows = self.conn.execute(
            f"SELECT {_MSG_COLS} FROM messages WHERE conversation_id = ? ORDER BY n", (conversation_id,)
        ).fetchall()
        messages = tuple(self._message(r, atts.get(r[0], ())) for r in rows)
        return StoredConversation(conv[0], conv[1], conv[2], messages, conv[3], conv[4])

    def message(self, message_id: str) -> StoredMessage:
        """One message (with its attachments); raises KeyError."""
        row = self.conn.execute(f"SELECT {_MSG_COLS} FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise KeyError(message_id)
        atts = [
            Attachment(r[0], r[1], r[2], r[3], bytes(r[4]), r[5])
            for r in self.conn.execute(
                "SELECT name, size, kind, mime, data, prompt_text FROM attachments WHERE message_id = ? ORDER BY n",
                (message_id,),
            )
        ]
        return self._message(row, atts)

    def mark_interrupted(self, stale_after_s: float = STALE_AFTER_S) -> int:
        """Mark answers left "streaming" by a dead writer as interrupted; returns how many.

        An answer counts as dead when its writer process is gone (same host) or has not
        written for ``stale_after_s`` (an answer writes at least every second while it streams).
        """
        now, host, me = time.time(), socket.gethostname(), os.getpid()
        dead: list[str] = []
        for mid, writer, updated in self.conn.execute(
            "SELECT id, writer, updated FROM messages WHERE state = 'streaming'"
        ).fetchall():
            w_host, _, w_pid = (writer or "").rpartition(":")
            alive = w_host == host and w_pid.isdigit() and (int(w_pid) == me or _pid_alive(int(w_pid)))
            if not alive or now - updated > stale_after_s:
                dead.append(mid)
        if dead:
            with transaction(self.conn):
                self.conn.executemany(
                    "UPDATE messages SET state = 'interrupted', finish_reason = 'interrupted', writer = NULL,"
                    " error = coalesce(error, 'the app stopped before this answer was finished') WHERE id = ?",
                    [(m,) for m in dead],
                )
            log.info("%d answer(s) were cut off by a crash and are marked interrupted", len(dead))
        return len(dead)

    # -- helpers -------------------------------------------------------------------------

    def _require(self, conversation_id: str) -> None:
        if (
            self.conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            is None
        ):
            raise KeyError(conversation_id)

    def _require_message(self, conversation_id: str, message_id: str) -> None:
        row = self.conn.execute(
            "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?", (message_id, conversation_id)
        ).fetchone()
        if row is None:
            raise KeyError(message_id)

    @staticmethod
    def _message(row: tuple[Any, ...], atts: Iterable[Attachment]) -> StoredMessage:
        return StoredMessage(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            tuple(atts),
            row[5],
            row[6],
            row[7],
            json.loads(row[8] or "{}"),
            row[9],
            row[10],
        )


__all__ = ["STALE_AFTER_S", "Library", "Recovery", "fts_query", "snippet", "writer_tag"]
