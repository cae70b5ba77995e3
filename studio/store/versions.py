"""Artifacts and every version of them: made by an answer, a user edit, an auto-fix or a restore.

A conversation's main artifact has the conversation's id as its own id, so ``add_version(cid, ...)``
needs no artifact bookkeeping. Versions are numbered 1, 2, 3 ...; one of them is current (what the
pane shows and what the model reads as context of the next turn). Nothing is ever overwritten:
restoring version 2 of 5 adds version 6 with version 2's source.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

from studio.store.db import transaction
from studio.store.records import ORIGINS, ArtifactVersion, new_id

_COLS = (
    "v.id, v.artifact_id, a.conversation_id, v.number, v.message_id, v.origin, v.kind, v.title, v.source,"
    " v.console, v.based_on, v.created"
)


def _version(row: tuple[Any, ...]) -> ArtifactVersion:
    console = tuple(json.loads(row[9] or "[]"))
    return ArtifactVersion(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], console, row[10], row[11]
    )


class VersionsMixin:
    """Artifact methods of :class:`studio.store.library.Library` (needs ``self.conn``)."""

    conn: sqlite3.Connection

    def add_version(
        self,
        conversation_id: str,
        *,
        kind: str,
        title: str,
        source: str,
        origin: str = "model",
        message_id: str | None = None,
        console: Iterable[Mapping[str, Any]] = (),
        based_on: int | None = None,
        artifact_id: str | None = None,
    ) -> ArtifactVersion:
        """Add a version (it becomes current).

        Args:
            conversation_id: the conversation it belongs to.
            kind, title, source: the artifact as extracted or edited.
            origin: "model" (an answer), "edit" (the user), "autofix", "restore" or "patch" (an answer's
                edits applied to the current version).
            message_id: the answer that made it, if any.
            console: console entries seen when it rendered (can be set later: :meth:`set_console`).
            based_on: the version number an edit started from.
            artifact_id: default the conversation's main artifact (same id as the conversation).
        """
        if origin not in ORIGINS:
            raise ValueError(f"unknown origin {origin!r}; expected one of {', '.join(ORIGINS)}")
        aid = artifact_id or conversation_id
        now = time.time()
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO artifacts (id, conversation_id, created) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (aid, conversation_id, now),
            )
            number = self.conn.execute(
                "SELECT coalesce(max(number), 0) + 1 FROM artifact_versions WHERE artifact_id = ?", (aid,)
            ).fetchone()[0]
            vid = new_id()
            self.conn.execute(
                "INSERT INTO artifact_versions (id, artifact_id, number, message_id, origin, kind, title, source,"
                " console, based_on, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    vid,
                    aid,
                    number,
                    message_id,
                    origin,
                    kind,
                    title,
                    source,
                    json.dumps([dict(c) for c in console]),
                    based_on,
                    now,
                ),
            )
            self.conn.execute("UPDATE artifacts SET current_version = ? WHERE id = ?", (number, aid))
            self.conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))
        return self.version(aid, number)

    def versions(self, artifact_id: str) -> list[ArtifactVersion]:
        """Every version of an artifact, oldest first."""
        rows = self.conn.execute(
            f"SELECT {_COLS} FROM artifact_versions v JOIN artifacts a ON a.id = v.artifact_id"
            " WHERE v.artifact_id = ? ORDER BY v.number",
            (artifact_id,),
        ).fetchall()
        return [_version(r) for r in rows]

    def version_count(self, artifact_id: str) -> int:
        """How many versions an artifact has (the "of 5" in "v3 of 5")."""
        return int(
            self.conn.execute(
                "SELECT count(*) FROM artifact_versions WHERE artifact_id = ?", (artifact_id,)
            ).fetchone()[0]
        )

    def version(self, artifact_id: str, number: int) -> ArtifactVersion:
        """Version ``number`` of an artifact; raises KeyError."""
        row = self.conn.execute(
            f"SELECT {_COLS} FROM artifact_versions v JOIN artifacts a ON a.id = v.artifact_id"
            " WHERE v.artifact_id = ? AND v.number = ?",
            (artifact_id, number),
        ).fetchone()
        if row is None:
            raise KeyError(f"{artifact_id} has no version {number}")
        return _version(row)

    def artifacts(self, conversation_id: str) -> list[str]:
        """The ids of a conversation's artifacts, oldest first."""
        rows = self.conn.execute(
            "SELECT id FROM artifacts WHERE conversation_id = ? ORDER BY n", (conversation_id,)
        ).fetchall()
        return [str(r[0]) for r in rows]

    def current_version(self, artifact_id: str) -> ArtifactVersion | None:
        """The version the pane shows (and the model reads next turn); None when there is none."""
        row = self.conn.execute(
            "SELECT current_version FROM artifacts WHERE id = ?", (artifact_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return self.version(artifact_id, int(row[0]))

    def set_current_version(self, artifact_id: str, number: int) -> ArtifactVersion:
        """Show another version (previous / next); adds nothing. Raises KeyError."""
        version = self.version(artifact_id, number)
        with transaction(self.conn):
            self.conn.execute("UPDATE artifacts SET current_version = ? WHERE id = ?", (number, artifact_id))
        return version

    def restore_version(self, artifact_id: str, number: int) -> ArtifactVersion:
        """ "Restore this version": a new version with its source (origin "restore"), now current."""
        old = self.version(artifact_id, number)
        return self.add_version(
            old.conversation_id,
            kind=old.kind,
            title=old.title,
            source=old.source,
            origin="restore",
            message_id=None,
            based_on=number,
            artifact_id=artifact_id,
        )

    def set_console(self, version_id: str, entries: Iterable[Mapping[str, Any]]) -> None:
        """Store the console output of a version (replaces what was there)."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE artifact_versions SET console = ? WHERE id = ?",
                (json.dumps([dict(e) for e in entries]), version_id),
            )
            if cur.rowcount == 0:
                raise KeyError(version_id)

    def context_version(self, artifact_id: str, last_answer_id: str | None) -> ArtifactVersion | None:
        """The version the next turn must show the model, or None when the model already has it.

        The model reads its own last answer. When the current version is not the one that answer
        made (the user edited, restored, auto-fixed or went back to an older version), the next
        turn must carry the current source, so "make the balls bigger" edits what the user has now.

        Args:
            artifact_id: the artifact (a conversation's main artifact: the conversation id).
            last_answer_id: the last assistant message on the current branch (None if none).
        """
        current = self.current_version(artifact_id)
        if current is None or (current.origin == "model" and current.message_id == last_answer_id):
            return None
        return current
