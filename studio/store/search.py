"""Search over titles and message text (SQLite FTS5), and the sidebar's summary rows."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from studio.store.records import ConversationSummary, SearchHit

# One sidebar row per conversation: counts and the interrupted flag come from indexes.
SUMMARY_SQL = """
SELECT c.id, c.title, c.created, c.updated,
    (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id),
    (SELECT count(*) FROM artifact_versions v JOIN artifacts a ON a.id = v.artifact_id
        WHERE a.conversation_id = c.id),
    EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.state = 'interrupted')
FROM conversations c
"""


def summary_row(row: Sequence[Any]) -> ConversationSummary:
    """A :class:`ConversationSummary` from a row of :data:`SUMMARY_SQL`."""
    return ConversationSummary(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


def fts_query(text: str) -> str | None:
    """A safe FTS5 query from what the user typed: every word must appear (as a prefix)."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


def snippet(text: str, words: Sequence[str], width: int = 80) -> str:
    """The part of ``text`` around the first word that starts with one of ``words``, hits in ``[ ]``.

    Computed here rather than by FTS5's ``snippet()``, which re-reads and re-tokenizes each
    document (about 1 ms each at 2 KB; this is a regex over the text).
    """
    flat = " ".join(text.split())
    if not words:
        return flat[:width]
    rx = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)
    m = rx.search(flat)
    if m is None:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, m.start() - width // 3)
    piece = flat[start : start + width]
    marked = rx.sub(lambda h: f"[{h.group(0)}]", piece)
    return ("…" if start else "") + marked + ("…" if start + width < len(flat) else "")


class SearchMixin:
    """The search method of :class:`studio.store.library.Library` (needs ``self.conn``)."""

    conn: sqlite3.Connection

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Conversations whose title or messages hold every word of ``text`` (prefixes), newest first."""
        query = fts_query(text)
        if query is None:
            return []
        # One FTS pass: the newest matching conversations with their first matching message.
        rows = self.conn.execute(
            "WITH hits AS (SELECT m.conversation_id AS cid, min(m.n) AS first FROM messages_fts"
            "  JOIN messages m ON m.n = messages_fts.rowid WHERE messages_fts MATCH ? GROUP BY m.conversation_id)"
            " SELECT c.id, hits.first FROM conversations c LEFT JOIN hits ON hits.cid = c.id"
            " WHERE c.deleted IS NULL AND (hits.first IS NOT NULL"
            "  OR c.n IN (SELECT rowid FROM titles_fts WHERE titles_fts MATCH ?))"
            " ORDER BY c.updated DESC, c.n DESC LIMIT ?",
            (query, query, limit),
        ).fetchall()
        if not rows:
            return []
        ids = [r[0] for r in rows]
        marks = ",".join("?" * len(ids))
        by_id = {
            s.id: s
            for s in map(summary_row, self.conn.execute(SUMMARY_SQL + f" WHERE c.id IN ({marks})", ids))
        }
        firsts = [r[1] for r in rows if r[1] is not None]
        texts: dict[int, tuple[str, str]] = {}
        if firsts:
            texts = {
                n: (mid, content)
                for n, mid, content in self.conn.execute(
                    f"SELECT n, id, content FROM messages WHERE n IN ({','.join('?' * len(firsts))})", firsts
                )
            }
        words = re.findall(r"\w+", text)
        out = []
        for cid, n in rows:
            if n is None or n not in texts:
                out.append(SearchHit(by_id[cid], snippet(by_id[cid].title, words), None))
            else:
                out.append(SearchHit(by_id[cid], snippet(texts[n][1], words), texts[n][0]))
        return out
