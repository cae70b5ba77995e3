"""The gallery side of the library: every artifact with its current version, pins and thumbnails.

A thumbnail is a small PNG of a version's settled render (the UI takes and encodes it; the store
only keeps the bytes). Artifacts of deleted conversations are left out of the gallery.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from studio.store.db import transaction
from studio.store.records import GalleryItem

# The thumbnail of an artifact's current version, else of its newest version that has one.
_THUMB_SQL = (
    "coalesce((SELECT png FROM thumbnails WHERE version_id = v.id),"
    " (SELECT t.png FROM thumbnails t JOIN artifact_versions tv ON tv.id = t.version_id"
    " WHERE tv.artifact_id = a.id ORDER BY tv.number DESC LIMIT 1))"
)


def _item(r: tuple[Any, ...]) -> GalleryItem:
    thumb = None if r[10] is None else bytes(r[10])
    return GalleryItem(
        str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]), r[5], r[6], r[7], float(r[8]), r[9], thumb
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class GalleryMixin:
    """Gallery, pin and thumbnail methods of :class:`studio.store.library.Library` (needs ``self.conn``)."""

    conn: sqlite3.Connection

    def gallery(self, query: str = "", *, thumbnails: bool = True) -> list[GalleryItem]:
        """Every artifact of the library: pinned ones first (last pinned first), then newest change first.

        Args:
            query: keep only artifacts whose title or conversation title holds every word of it
                (case-insensitive for ASCII); "" keeps all.
            thumbnails: read each item's thumbnail bytes too.
        """
        where = ["c.deleted IS NULL"]
        params: list[Any] = []
        for word in query.split():
            where.append("(v.title LIKE ? ESCAPE '\\' OR c.title LIKE ? ESCAPE '\\')")
            params += [_like(word), _like(word)]
        thumb = _THUMB_SQL if thumbnails else "NULL"
        rows = self.conn.execute(
            "SELECT a.id, a.conversation_id, v.id, v.number,"
            " (SELECT count(*) FROM artifact_versions n WHERE n.artifact_id = a.id),"
            f" v.title, v.kind, c.title, c.updated, a.pinned, {thumb}"
            " FROM artifacts a JOIN conversations c ON c.id = a.conversation_id"
            " JOIN artifact_versions v ON v.artifact_id = a.id AND v.number = a.current_version"
            f" WHERE {' AND '.join(where)}"
            " ORDER BY a.pinned IS NULL, a.pinned DESC, c.updated DESC, a.n DESC",
            params,
        ).fetchall()
        return [_item(r) for r in rows]

    def gallery_item(self, artifact_id: str) -> GalleryItem:
        """One artifact as the gallery shows it (deleted conversations too); raises KeyError."""
        row = self.conn.execute(
            "SELECT a.id, a.conversation_id, v.id, v.number,"
            " (SELECT count(*) FROM artifact_versions n WHERE n.artifact_id = a.id),"
            f" v.title, v.kind, c.title, c.updated, a.pinned, {_THUMB_SQL}"
            " FROM artifacts a JOIN conversations c ON c.id = a.conversation_id"
            " JOIN artifact_versions v ON v.artifact_id = a.id AND v.number = a.current_version"
            " WHERE a.id = ?",
            (artifact_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no artifact {artifact_id!r}")
        return _item(row)

    def find_artifact(self, prefix: str) -> str:
        """The id of the one artifact (with a version) whose id starts with ``prefix``.

        Raises:
            KeyError: none or several match (the message says which).
        """
        if not prefix.strip():
            raise KeyError("no artifact id given")
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.conn.execute(
            "SELECT a.id FROM artifacts a JOIN conversations c ON c.id = a.conversation_id AND c.deleted IS NULL"
            " WHERE a.id LIKE ? ESCAPE '\\' AND a.current_version IS NOT NULL LIMIT 2",
            (like,),
        ).fetchall()
        if len(rows) != 1:
            raise KeyError(f"no artifact {prefix!r}" if not rows else f"{prefix!r} matches several artifacts")
        return str(rows[0][0])

    def set_pinned(self, artifact_id: str, pinned: bool) -> None:
        """Pin an artifact to the front of the gallery (or unpin it); raises KeyError."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE artifacts SET pinned = ? WHERE id = ?", (time.time() if pinned else None, artifact_id)
            )
            if cur.rowcount == 0:
                raise KeyError(f"no artifact {artifact_id!r}")

    def set_thumbnail(self, version_id: str, png: bytes, width: int, height: int) -> None:
        """Keep (or replace) the thumbnail of a version; raises KeyError for an unknown version."""
        try:
            with transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO thumbnails (version_id, width, height, png, created) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (version_id) DO UPDATE SET width = excluded.width, height = excluded.height,"
                    " png = excluded.png, created = excluded.created",
                    (version_id, width, height, png, time.time()),
                )
        except sqlite3.IntegrityError as exc:  # the foreign key: no such version
            raise KeyError(f"no artifact version {version_id!r}") from exc

    def thumbnail(self, version_id: str) -> bytes | None:
        """The PNG thumbnail of a version, or None when it has none (yet)."""
        row = self.conn.execute("SELECT png FROM thumbnails WHERE version_id = ?", (version_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def has_thumbnail(self, version_id: str) -> bool:
        """Whether a version has a thumbnail (reads no image)."""
        row = self.conn.execute("SELECT 1 FROM thumbnails WHERE version_id = ?", (version_id,)).fetchone()
        return row is not None

    def thumbnails(self, artifact_id: str) -> dict[int, bytes]:
        """The PNG thumbnails of an artifact's versions, by version number (versions without one left out)."""
        rows = self.conn.execute(
            "SELECT v.number, t.png FROM thumbnails t JOIN artifact_versions v ON v.id = t.version_id"
            " WHERE v.artifact_id = ? ORDER BY v.number",
            (artifact_id,),
        ).fetchall()
        return {int(r[0]): bytes(r[1]) for r in rows}
