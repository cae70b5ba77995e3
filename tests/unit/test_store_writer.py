"""The background writer: streaming answers reach the file within a second, off the caller's thread."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from studio.store.library import Library
from studio.store.writer import LibraryWriter


def _content_on_disk(path: Path, message_id: str) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT content FROM messages WHERE id = ?", (message_id,)).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "library.db"
    Library(path).close()
    return path


def test_streamed_text_is_on_disk_within_a_second(library: Path) -> None:
    with LibraryWriter(library, interval=0.3) as writer:
        cid = writer.submit(lambda lib: lib.create_conversation("t")).result()
        user = writer.submit(lambda lib: lib.add_message(cid, "user", "go")).result()
        rec = writer.begin_answer(cid, user.id)
        seen: list[str] = []
        deadline = time.monotonic() + 3
        for i in range(40):
            rec.append(f"tok{i} ")
            time.sleep(0.05)
            seen.append(_content_on_disk(library, rec.message_id) or "")
        assert time.monotonic() < deadline + 1
        # the file grew while streaming: several distinct, growing prefixes
        grown = [s for s in dict.fromkeys(seen) if s]
        assert len(grown) >= 3 and all(rec.text.startswith(s) for s in grown)
        # the lag between appended and written text is below a second (at most 20 appends of 50 ms)
        assert seen[-1].count("tok") >= 40 - 20
        rec.finish("stop", stats={"generated_tokens": 40}).result()
        with pytest.raises(RuntimeError):
            rec.append("late")
    with Library(library) as lib:
        msg = lib.message(rec.message_id)
        assert msg.content == rec.text and msg.state == "done" and msg.finish_reason == "stop"
        assert msg.stats == {"generated_tokens": 40} and msg.parent_id == user.id


def test_appends_never_block_on_io_and_come_from_any_thread(library: Path) -> None:
    with LibraryWriter(library, interval=0.2) as writer:
        cid = writer.submit(lambda lib: lib.create_conversation()).result()
        rec = writer.begin_answer(cid, None)
        threads = [
            threading.Thread(target=lambda k=k: [rec.append(f"{k}") for _ in range(500)]) for k in range(4)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.perf_counter() - start < 1.0
        writer.flush()
        assert sorted(_content_on_disk(library, rec.message_id) or "") == sorted("0123" * 500)


def test_tasks_run_in_order_and_errors_reach_the_caller(library: Path) -> None:
    with LibraryWriter(library) as writer:
        cid = writer.submit(lambda lib: lib.create_conversation()).result()
        futures = [writer.submit(lambda lib, i=i: lib.add_message(cid, "user", f"m{i}")) for i in range(20)]
        assert [f.result().content for f in futures] == [f"m{i}" for i in range(20)]
        bad = writer.submit(lambda lib: lib.rename("missing", "x"))
        with pytest.raises(KeyError):
            bad.result()
        assert writer.submit(lambda lib: threading.current_thread().name).result() == "studio-store-writer"
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(lambda lib: None)


def test_close_writes_what_is_pending(library: Path) -> None:
    writer = LibraryWriter(library, interval=1.0)
    cid = writer.submit(lambda lib: lib.create_conversation()).result()
    rec = writer.begin_answer(cid, None)
    rec.append("the last words")
    writer.close()
    assert _content_on_disk(library, rec.message_id) == "the last words"
