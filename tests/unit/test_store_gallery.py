"""The library's gallery: schema v6 (thumbnails, pins) migrated from v5, listing, search, pins, thumbnails."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from studio.store import schema
from studio.store.library import Library

PNG = b"\x89PNG\r\n\x1a\n" + b"fake image bytes"


def _v5_library(path: Path) -> None:
    """A library as schema version 5 wrote it: a conversation whose artifact has two versions."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    schema.build_version(conn, 5)
    now = time.time()
    conn.execute(
        "INSERT INTO conversations (id, title, created, updated, current_id) VALUES ('c1', 'Solar system', ?, ?, 'm2')",
        (now, now),
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, parent_id, role, content, created, updated)"
        " VALUES ('m1', 'c1', NULL, 'user', 'draw planets', ?, ?), ('m2', 'c1', 'm1', 'assistant', 'here', ?, ?)",
        (now, now, now, now),
    )
    conn.execute(
        "INSERT INTO artifacts (id, conversation_id, created, current_version) VALUES ('c1', 'c1', ?, 2)",
        (now,),
    )
    conn.execute(
        "INSERT INTO artifact_versions (id, artifact_id, number, message_id, origin, kind, title, source, created)"
        " VALUES ('v1', 'c1', 1, 'm2', 'model', 'html', 'Planets', '<p>1</p>', ?),"
        " ('v2', 'c1', 2, NULL, 'patch', 'html', 'Planets', '<p>2</p>', ?)",
        (now, now),
    )
    assert schema.user_version(conn) == 5
    conn.close()


def test_v5_library_migrates_to_thumbnails_and_pins_with_its_data_intact(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    _v5_library(path)
    with Library(path) as lib:
        assert schema.user_version(lib.conn) == schema.LATEST >= 6
        columns = {r[1] for r in lib.conn.execute("PRAGMA table_info(thumbnails)")}
        assert {"version_id", "width", "height", "png", "created"} <= columns
        assert "pinned" in {r[1] for r in lib.conn.execute("PRAGMA table_info(artifacts)")}
        # the old rows are all there
        assert [(v.id, v.number, v.origin, v.source) for v in lib.versions("c1")] == [
            ("v1", 1, "model", "<p>1</p>"),
            ("v2", 2, "patch", "<p>2</p>"),
        ]
        assert [m.id for m in lib.load("c1").path()] == ["m1", "m2"]
        assert lib.current_version("c1").number == 2  # type: ignore[union-attr]
        # no thumbnail yet, nothing pinned; then both work on the migrated rows
        [item] = lib.gallery()
        assert (item.artifact_id, item.version_id, item.pinned, item.thumbnail) == ("c1", "v2", None, None)
        lib.set_thumbnail("v1", PNG, 320, 200)
        assert lib.gallery()[0].thumbnail == PNG  # the newest version that has one stands in
        lib.set_pinned("c1", True)
        assert lib.gallery()[0].pinned is not None
        assert lib.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _three(lib: Library) -> list[str]:
    ids = []
    for title, art in (("Bouncing balls", "Balls"), ("A clock", "Analog clock"), ("Weather", "Rain chart")):
        cid = lib.create_conversation(title)
        lib.add_version(cid, kind="html", title=art, source=f"<p>{art}</p>")
        ids.append(cid)
    return ids


def test_gallery_lists_searches_and_pins(tmp_path: Path) -> None:
    with Library(tmp_path / "l.db") as lib:
        balls, clock, rain = _three(lib)
        assert [i.artifact_id for i in lib.gallery()] == [rain, clock, balls]  # newest change first
        assert [i.title for i in lib.gallery("clock")] == ["Analog clock"]
        assert [i.artifact_id for i in lib.gallery("bouncing")] == [balls]  # the conversation title
        assert [i.artifact_id for i in lib.gallery("CHART rain")] == [rain]  # every word, any case
        assert lib.gallery("100%") == [] and lib.gallery("_") == []  # LIKE's wildcards are plain text
        lib.set_pinned(balls, True)
        assert [i.artifact_id for i in lib.gallery()] == [balls, rain, clock]
        lib.set_pinned(balls, False)
        assert lib.gallery()[0].artifact_id == rain
        with pytest.raises(KeyError):
            lib.set_pinned("nope", True)
        lib.delete(clock)
        assert clock not in [i.artifact_id for i in lib.gallery()]


def test_thumbnails_by_version_and_gone_with_their_version(tmp_path: Path) -> None:
    with Library(tmp_path / "l.db") as lib:
        cid = lib.create_conversation("t")
        v1 = lib.add_version(cid, kind="html", title="A", source="a")
        v2 = lib.add_version(cid, kind="html", title="A", source="b")
        assert lib.thumbnail(v1.id) is None and not lib.has_thumbnail(v1.id)
        lib.set_thumbnail(v1.id, PNG, 10, 5)
        lib.set_thumbnail(v2.id, b"old", 10, 5)
        lib.set_thumbnail(v2.id, PNG + b"2", 10, 5)  # replaced, not added
        assert lib.thumbnail(v1.id) == PNG and lib.has_thumbnail(v2.id)
        assert lib.thumbnails(cid) == {1: PNG, 2: PNG + b"2"}
        assert lib.gallery_item(cid).thumbnail == PNG + b"2"  # the current version's
        with pytest.raises(KeyError):
            lib.set_thumbnail("no-such-version", PNG, 1, 1)
        lib.delete(cid)
        lib.purge_deleted()
        assert lib.conn.execute("SELECT count(*) FROM thumbnails").fetchone()[0] == 0


def test_find_artifact_by_prefix(tmp_path: Path) -> None:
    with Library(tmp_path / "l.db") as lib:
        a = lib.create_conversation("a", conversation_id="abc123")
        lib.add_version(a, kind="html", title="A", source="a")
        b = lib.create_conversation("b", conversation_id="abd456")
        lib.add_version(b, kind="html", title="B", source="b")
        lib.create_conversation("no artifact", conversation_id="xyz")
        assert lib.find_artifact("abc") == "abc123"
        for bad, says in (
            ("ab", "several"),
            ("xyz", "no artifact"),
            ("", "no artifact"),
            ("%", "no artifact"),
        ):
            with pytest.raises(KeyError, match=says):
                lib.find_artifact(bad)
