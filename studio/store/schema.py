"""The library's schema, one DDL script per version, applied in order (``PRAGMA user_version``).

Every version's script is kept as it shipped, so a test can build any earlier version and migrate it.
Never edit a released script: add a new one. Tables use an explicit integer key (``n``) so rowids
stay stable through VACUUM (the FTS index points at them) and insertion order is sibling order.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger(__name__)

# v1: conversations as trees of messages.
V1 = """
CREATE TABLE conversations (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    current_id TEXT,
    deleted REAL
);
CREATE INDEX conversations_by_updated ON conversations(deleted, updated DESC);
CREATE TABLE messages (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'streaming', 'interrupted')),
    finish_reason TEXT,
    error TEXT,
    stats TEXT NOT NULL DEFAULT '{}',
    writer TEXT
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, n);
CREATE INDEX messages_by_parent ON messages(parent_id);
CREATE INDEX messages_streaming ON messages(state) WHERE state = 'streaming';
"""

# v2: attachments kept with their message; artifacts and every version of them.
V2 = """
CREATE TABLE attachments (
    n INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    mime TEXT NOT NULL,
    data BLOB NOT NULL,
    prompt_text TEXT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments(message_id);
CREATE TABLE artifacts (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    created REAL NOT NULL,
    current_version INTEGER
);
CREATE INDEX artifacts_by_conversation ON artifacts(conversation_id);
CREATE TABLE artifact_versions (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    artifact_id TEXT NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    message_id TEXT REFERENCES messages(id) ON DELETE SET NULL,
    origin TEXT NOT NULL CHECK (origin IN ('model', 'edit', 'autofix', 'restore')),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    console TEXT NOT NULL DEFAULT '[]',
    based_on INTEGER,
    created REAL NOT NULL,
    UNIQUE (artifact_id, number)
);
CREATE INDEX artifact_versions_by_message ON artifact_versions(message_id);
"""

# v3: full-text search over titles and message text (FTS5, external content, kept by triggers).
V3 = """
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='n', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.n, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.n, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.n, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.n, new.content);
END;
CREATE VIRTUAL TABLE titles_fts USING fts5(
    title, content='conversations', content_rowid='n', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER titles_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO titles_fts(rowid, title) VALUES (new.n, new.title);
END;
CREATE TRIGGER titles_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.n, old.title);
END;
CREATE TRIGGER titles_fts_update AFTER UPDATE OF title ON conversations BEGIN
    INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.n, old.title);
    INSERT INTO titles_fts(rowid, title) VALUES (new.n, new.title);
END;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
INSERT INTO titles_fts(titles_fts) VALUES ('rebuild');
"""

# v4: the sidebar's "interrupted" flag without reading every message (measured: 20 ms -> 2 ms at 10k messages).
V4 = """
CREATE INDEX messages_interrupted ON messages(conversation_id) WHERE state = 'interrupted';
"""

# v5: versions made by applying the model's SEARCH/REPLACE edits (origin 'patch'). SQLite cannot change a
# CHECK constraint in place, so the table is rebuilt (nothing references it; its rows keep their keys).
V5 = """
CREATE TABLE artifact_versions_v5 (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    artifact_id TEXT NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    message_id TEXT REFERENCES messages(id) ON DELETE SET NULL,
    origin TEXT NOT NULL CHECK (origin IN ('model', 'edit', 'autofix', 'restore', 'patch')),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    console TEXT NOT NULL DEFAULT '[]',
    based_on INTEGER,
    created REAL NOT NULL,
    UNIQUE (artifact_id, number)
);
INSERT INTO artifact_versions_v5 (n, id, artifact_id, number, message_id, origin, kind, title, source, console,
    based_on, created)
    SELECT n, id, artifact_id, number, message_id, origin, kind, title, source, console, based_on, created
    FROM artifact_versions;
DROP TABLE artifact_versions;
ALTER TABLE artifact_versions_v5 RENAME TO artifact_versions;
CREATE INDEX artifact_versions_by_message ON artifact_versions(message_id);
"""

# v6: a thumbnail per artifact version (a small PNG of its settled render, in a table of its own so the
# version rows stay small), and pinning for the gallery (the time an artifact was pinned; NULL: not).
# A later migration that rebuilds artifact_versions must keep the thumbnails: dropping the table
# deletes them through the foreign key.
V6 = """
ALTER TABLE artifacts ADD COLUMN pinned REAL;
CREATE TABLE thumbnails (
    version_id TEXT PRIMARY KEY REFERENCES artifact_versions(id) ON DELETE CASCADE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    png BLOB NOT NULL,
    created REAL NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5, V6)
LATEST = len(MIGRATIONS)


class SchemaTooNewError(Exception):
    """The library was written by a newer version of the app."""


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the file (0 for a new file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def build_version(conn: sqlite3.Connection, version: int) -> None:
    """Build the schema exactly as version ``version`` shipped it (for tests of older libraries)."""
    if not 0 <= version <= LATEST:
        raise ValueError(f"no schema version {version}")
    _apply(conn, user_version(conn), version)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file up to :data:`LATEST`, one version per transaction; returns the old version.

    Raises:
        SchemaTooNewError: the file's version is newer than this app knows.
    """
    old = user_version(conn)
    if old > LATEST:
        raise SchemaTooNewError(
            f"the library has schema version {old}, but this app only knows up to {LATEST}; "
            "update artifacts-studio to open it"
        )
    if old < LATEST:
        _apply(conn, old, LATEST)
        log.info("library schema migrated from version %d to %d", old, LATEST)
    return old


def _apply(conn: sqlite3.Connection, start: int, stop: int) -> None:
    for version in range(start, stop):
        # executescript runs in autocommit mode, so the script carries its own transaction.
        script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
        try:
            conn.executescript(script)
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
