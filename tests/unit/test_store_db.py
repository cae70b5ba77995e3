"""Opening the library: WAL, migrations from every earlier schema, corrupt-file recovery."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from studio.store import schema
from studio.store.db import StoreError, open_database
from studio.store.library import Library


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


def _fill(conn: sqlite3.Connection, version: int) -> None:
    """Rows an app of schema ``version`` would have written."""
    now = time.time()
    if version >= 1:
        conn.execute(
            "INSERT INTO conversations (id, title, created, updated, current_id) VALUES ('c1', 'Bouncing balls', ?, ?, 'm2')",
            (now, now),
        )
        conn.execute(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, created, updated)"
            " VALUES ('m1', 'c1', NULL, 'user', 'draw zebra stripes', ?, ?)",
            (now, now),
        )
        conn.execute(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, created, updated, state, writer)"
            " VALUES ('m2', 'c1', 'm1', 'assistant', 'half an answer', ?, ?, 'streaming', 'elsewhere:1')",
            (now, now),
        )
    if version >= 2:
        conn.execute(
            "INSERT INTO attachments (message_id, name, size, kind, mime, data, prompt_text)"
            " VALUES ('m1', 'd.csv', 3, 'table', 'text/csv', x'612c62', 'file d.csv')"
        )
        conn.execute(
            "INSERT INTO artifacts (id, conversation_id, created, current_version) VALUES ('c1', 'c1', ?, 1)",
            (now,),
        )
        conn.execute(
            "INSERT INTO artifact_versions (id, artifact_id, number, message_id, origin, kind, title, source, created)"
            " VALUES ('v1', 'c1', 1, 'm2', 'model', 'html', 'Balls', '<p>balls</p>', ?)",
            (now,),
        )


@pytest.mark.parametrize("start", range(schema.LATEST))
def test_migrates_from_every_earlier_version(tmp_path: Path, start: int) -> None:
    path = tmp_path / "library.db"
    conn = _raw(path)
    schema.build_version(conn, start)
    assert schema.user_version(conn) == start
    _fill(conn, start)
    conn.close()

    with Library(path) as lib:
        assert schema.user_version(lib.conn) == schema.LATEST
        assert lib.recovery is None
        if start == 0:
            assert lib.list_conversations() == []
            return
        conv = lib.load("c1")
        assert [m.id for m in conv.path()] == ["m1", "m2"]
        # the answer a dead writer left streaming is marked interrupted
        assert conv.messages[1].state == "interrupted" and lib.summary("c1").interrupted
        # text written before the FTS version is searchable after the migration
        assert [h.conversation.id for h in lib.search("zebra")] == ["c1"]
        assert [h.conversation.id for h in lib.search("bouncing")] == ["c1"]
        if start >= 2:
            assert conv.messages[0].attachments[0].data == b"a,b"
            assert lib.current_version("c1").source == "<p>balls</p>"  # type: ignore[union-attr]


def test_every_version_script_builds_alone(tmp_path: Path) -> None:
    for version in range(schema.LATEST + 1):
        conn = _raw(tmp_path / f"v{version}.db")
        schema.build_version(conn, version)
        assert schema.user_version(conn) == version
        conn.close()


def test_pragmas_wal_and_foreign_keys(tmp_path: Path) -> None:
    with Library(tmp_path / "l.db") as lib:
        assert lib.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert lib.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert lib.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        with pytest.raises(sqlite3.IntegrityError):
            lib.conn.execute(
                "INSERT INTO messages (id, conversation_id, role, created, updated) VALUES ('x', 'nope', 'user', 0, 0)"
            )
        with pytest.raises(KeyError):
            lib.add_message("nope", "user", "x")


def test_garbage_file_is_moved_aside_and_a_fresh_library_started(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with Library(path) as lib:
        assert lib.recovery is not None
        assert lib.list_conversations() == []
        moved = lib.recovery.moved_to
        assert moved.read_bytes() == garbage  # kept byte for byte, never wiped
        assert moved.name.startswith("library.db.corrupt-")
        assert str(moved) in lib.recovery.message and "could not be read" in lib.recovery.message
        lib.create_conversation("works again")
    with Library(path) as lib:
        assert lib.recovery is None and [c.title for c in lib.list_conversations()] == ["works again"]


def test_a_folder_in_the_library_files_place_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    (path / "inside").mkdir(parents=True)
    with pytest.raises(StoreError, match="is a folder, not a file"):
        Library(path)
    assert (path / "inside").is_dir()  # nothing moved or deleted


def test_the_commands_say_so_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "library.db").mkdir()
    for cmd in (["history"], ["export", "--conversation", "x", "-o", str(tmp_path / "x.html")]):
        out = subprocess.run(
            [sys.executable, "-m", "studio", "--data-dir", str(tmp_path), *cmd],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.strip().count("\n") == 0 and "is a folder, not a file" in out.stderr


def test_truncated_real_library_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Library(path) as lib:
        for i in range(150):
            cid = lib.create_conversation(f"conversation {i}")
            lib.add_message(cid, "user", "some text that fills pages " * 40)
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    assert len(data) > 100_000
    path.write_bytes(data[: len(data) // 2])
    with Library(path) as lib:
        assert lib.recovery is not None
        assert lib.recovery.moved_to.stat().st_size == len(data) // 2
        assert lib.list_conversations() == []


def test_library_from_a_newer_app_is_refused_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    with Library(path):
        pass
    conn = _raw(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="update artifacts-studio"):
        open_database(path)
    assert path.exists() and not list(tmp_path.glob("*.corrupt-*"))


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the library folder"):
        open_database(blocker / "sub" / "library.db")


def test_truncation_is_caught_by_the_header_when_the_full_scan_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.store import db

    path = tmp_path / "library.db"
    with Library(path) as lib:
        for i in range(100):
            lib.add_message(lib.create_conversation(), "user", f"text {i} " * 200)
    sqlite3.connect(str(path)).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 8192])
    monkeypatch.setattr(db, "QUICK_CHECK_MAX_BYTES", 0)
    assert "truncated" in (db.header_problem(path) or "")
    with Library(path) as lib:
        assert lib.recovery is not None and "truncated" in lib.recovery.reason


def test_sqlite_magic_followed_by_garbage_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes((i * 37) % 251 for i in range(20000)))
    with Library(path) as lib:
        assert lib.recovery is not None and lib.list_conversations() == []


def test_a_migrated_library_takes_patch_versions_and_keeps_its_versions(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    conn = _raw(path)
    schema.build_version(conn, 4)
    _fill(conn, 4)
    with pytest.raises(sqlite3.IntegrityError):  # version 4 did not know the origin
        conn.execute(
            "INSERT INTO artifact_versions (id, artifact_id, number, origin, kind, title, source, created)"
            " VALUES ('v9', 'c1', 9, 'patch', 'html', 'B', 'x', 0)"
        )
    conn.close()
    with Library(path) as lib:
        v = lib.add_version(
            "c1", kind="html", title="Balls", source="<p>blue balls</p>", origin="patch", message_id="m2"
        )
        assert (v.number, v.origin) == (2, "patch")
        assert [(x.number, x.origin, x.message_id) for x in lib.versions("c1")] == [
            (1, "model", "m2"),
            (2, "patch", "m2"),
        ]
        assert lib.current_version("c1").source == "<p>blue balls</p>"  # type: ignore[union-attr]
        assert lib.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError):
            lib.conn.execute(
                "INSERT INTO artifact_versions (id, artifact_id, number, origin, kind, title, source, created)"
                " VALUES ('v9', 'c1', 9, 'bogus', 'html', 'B', 'x', 0)"
            )
