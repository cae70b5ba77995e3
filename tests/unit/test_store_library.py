"""The library: message trees, attachments, titles, trash, search, artifact versions."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.core.attachments import attachment_from_bytes
from studio.store.library import Library, fts_query
from studio.store.records import make_title


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    library = Library(tmp_path / "library.db")
    yield library
    library.close()


def test_tree_edit_regenerate_and_branch_switching(lib: Library) -> None:
    cid = lib.create_conversation()
    u1 = lib.add_message(cid, "user", "make a clock")
    a1 = lib.add_message(cid, "assistant", "clock v1")
    a2 = lib.add_message(cid, "assistant", "clock v2", parent_id=u1.id)  # regenerate
    u2 = lib.add_message(cid, "user", "make it red")
    u1b = lib.add_message(cid, "user", "make a watch", parent_id=None)  # edit of the first prompt
    conv = lib.load(cid)
    assert conv.current_id == u1b.id and [m.id for m in conv.path()] == [u1b.id]
    assert [m.id for m in conv.siblings(u1.id)] == [u1.id, u1b.id]
    assert [m.id for m in conv.siblings(a2.id)] == [a1.id, a2.id]
    # switching to the first prompt shows its newest branch: u1 -> a2 -> u2
    assert lib.switch_to(u1.id) == u2.id
    assert [m.content for m in lib.load(cid).path()] == ["make a clock", "clock v2", "make it red"]
    assert lib.switch_to(a1.id) == a1.id
    assert [m.content for m in lib.load(cid).path()] == ["make a clock", "clock v1"]
    lib.set_current(cid, u2.id)
    assert lib.load(cid).current_id == u2.id
    with pytest.raises(KeyError):
        lib.set_current(cid, "not-a-message")


def test_ids_of_the_in_memory_tree_are_kept(lib: Library) -> None:
    from studio.core.conversation import Conversation

    tree = Conversation()
    lib.create_conversation(conversation_id=tree.id)
    for msg in (tree.add_user("hello"), tree.add_assistant("hi there")):
        lib.add_message(tree.id, msg.role, msg.content, parent_id=msg.parent_id, message_id=msg.id)
    stored = lib.load(tree.id)
    assert [(m.id, m.parent_id, m.role, m.content) for m in stored.path()] == [
        (m.id, m.parent_id, m.role, m.content) for m in tree.path()
    ]
    assert stored.current_id == tree.current_id


def test_attachments_round_trip_with_their_message(lib: Library) -> None:
    cid = lib.create_conversation()
    csv = attachment_from_bytes("sales.csv", b"month,total\njan,3\nfeb,5\n")
    png = attachment_from_bytes("dot.png", b"\x89PNG\r\n\x1a\n" + bytes(range(40)))
    msg = lib.add_message(cid, "user", "chart this", attachments=[csv, png])
    lib.add_message(cid, "assistant", "ok")
    back = lib.load(cid).messages[0].attachments
    assert back == (csv, png)
    assert lib.message(msg.id).attachments == (csv, png)


def test_title_from_the_first_prompt_and_rename(lib: Library) -> None:
    cid = lib.create_conversation()
    lib.add_message(cid, "user", "\n\n## Build me a **solar system** with orbits\nand moons")
    lib.add_message(cid, "user", "second prompt does not rename")
    assert lib.summary(cid).title == "Build me a solar system with orbits"
    lib.rename(cid, "  Planets  ")
    assert lib.summary(cid).title == "Planets"
    assert make_title("x" * 10 + " " + "y" * 80).endswith("…")
    assert len(make_title("word " * 40)) <= 60
    assert make_title("   \n  ") == "New chat"


def test_newest_first_with_counts_and_trash_with_undo(lib: Library) -> None:
    ids = []
    for i in range(3):
        cid = lib.create_conversation(f"chat {i}")
        lib.add_message(cid, "user", f"prompt {i}")
        ids.append(cid)
        time.sleep(0.002)
    lib.add_message(ids[0], "assistant", "answer")  # touching the oldest moves it to the top
    lib.add_version(ids[0], kind="html", title="t", source="<p>")
    rows = lib.list_conversations()
    assert [r.id for r in rows] == [ids[0], ids[2], ids[1]]
    assert (rows[0].messages, rows[0].artifacts) == (2, 1)
    assert [r.id for r in lib.list_conversations(limit=1, offset=1)] == [ids[2]]
    lib.delete(ids[2])
    assert ids[2] not in [r.id for r in lib.list_conversations()]
    assert lib.search("prompt 2") == []
    lib.undelete(ids[2])
    assert ids[2] in [r.id for r in lib.list_conversations()]
    lib.delete(ids[1])
    assert lib.purge_deleted(older_than_s=3600) == 0
    assert lib.purge_deleted() == 1
    with pytest.raises(KeyError):
        lib.load(ids[1])
    assert (
        lib.conn.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (ids[1],)).fetchone()[0]
        == 0
    )


def test_search_titles_and_text_with_prefixes_and_snippets(lib: Library) -> None:
    a = lib.create_conversation("Weather dashboard")
    lib.add_message(a, "user", "show the forecast")
    b = lib.create_conversation()
    lib.add_message(b, "user", "a canvas with bouncing balls")
    ans = lib.add_message(b, "assistant", "", state="streaming")
    assert lib.search("gravity") == []
    lib.update_content(ans.id, "Here are balls with gravity and friction")  # streaming text is indexed
    hits = lib.search("grav")
    assert [h.conversation.id for h in hits] == [b] and hits[0].message_id == ans.id
    assert "[gravity]" in hits[0].snippet
    assert [h.conversation.id for h in lib.search("weather")] == [a]
    assert [h.conversation.id for h in lib.search("Wéather DASH")] == [a]
    assert lib.search("balls forecast") == []  # every word must match in one row
    for nasty in ('"', "AND OR NOT", "*", "a:b (", "NEAR(x y)", ""):
        lib.search(nasty)  # never an FTS syntax error
    assert fts_query("  ") is None


def test_versions_restore_navigation_and_console(lib: Library) -> None:
    cid = lib.create_conversation()
    ans = lib.add_message(cid, "assistant", "```html ...")
    v1 = lib.add_version(cid, kind="html", title="Balls", source="<p>1</p>", message_id=ans.id)
    v2 = lib.add_version(cid, kind="html", title="Balls", source="<p>2</p>", origin="edit", based_on=1)
    assert (v1.number, v2.number, lib.version_count(cid)) == (1, 2, 2)
    assert lib.current_version(cid) == v2
    assert lib.set_current_version(cid, 1) == v1 and lib.current_version(cid) == v1
    v3 = lib.restore_version(cid, 1)
    assert (v3.number, v3.origin, v3.source, v3.based_on) == (3, "restore", "<p>1</p>", 1)
    assert lib.current_version(cid) == v3
    assert [v.origin for v in lib.versions(cid)] == ["model", "edit", "restore"]
    assert lib.versions(cid)[0].message_id == ans.id
    lib.set_console(v3.id, [{"level": "error", "message": "x is not defined", "line": 3, "source": "a"}])
    assert lib.version(cid, 3).console[0]["message"] == "x is not defined"
    with pytest.raises(ValueError, match="origin"):
        lib.add_version(cid, kind="html", title="t", source="s", origin="magic")
    with pytest.raises(KeyError):
        lib.version(cid, 9)
    assert lib.artifacts(cid) == [cid]
    other = lib.add_version(cid, kind="svg", title="Logo", source="<svg/>", artifact_id="logo")
    assert other.number == 1 and lib.artifacts(cid) == [cid, "logo"]
    assert lib.current_version("none") is None


_DIE_MID_ANSWER = """
import os, sys
from studio.store.library import Library
lib = Library(sys.argv[1])
cid = lib.create_conversation()
lib.add_message(cid, "user", "draw")
msg = lib.add_message(cid, "assistant", "", state="streaming")
lib.update_content(msg.id, "half of the ans")
print(cid, flush=True)
os._exit(9)  # no cleanup, like a kill
"""


def test_answer_left_streaming_by_a_dead_process_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    out = subprocess.run(
        [sys.executable, "-c", _DIE_MID_ANSWER, str(path)], capture_output=True, text=True, timeout=60
    )
    cid = out.stdout.strip()
    with Library(path) as lib:
        summary = lib.summary(cid)
        answer = lib.load(cid).path()[-1]
    assert summary.interrupted and answer.state == "interrupted"
    assert answer.content == "half of the ans" and answer.finish_reason == "interrupted"


def test_live_and_stale_streaming_answers(lib: Library) -> None:
    cid = lib.create_conversation()
    msg = lib.add_message(cid, "assistant", "", state="streaming")
    assert lib.mark_interrupted() == 0  # this very process is writing it
    lib.conn.execute("UPDATE messages SET updated = updated - 100 WHERE id = ?", (msg.id,))
    assert lib.mark_interrupted() == 1  # no sign of life for 100 s
    assert lib.message(msg.id).interrupted


def test_the_next_turn_sees_the_users_version(lib: Library) -> None:
    cid = lib.create_conversation()
    lib.add_message(cid, "user", "balls")
    a1 = lib.add_message(cid, "assistant", "v1 answer")
    assert lib.context_version(cid, a1.id) is None  # no artifact yet
    lib.add_version(cid, kind="html", title="B", source="<p>model</p>", message_id=a1.id)
    assert lib.context_version(cid, a1.id) is None  # the model's own answer holds it
    edit = lib.add_version(cid, kind="html", title="B", source="<p>red</p>", origin="edit", based_on=1)
    assert lib.context_version(cid, a1.id) == edit
    lib.set_current_version(cid, 1)
    assert lib.context_version(cid, a1.id) is None
    a2 = lib.add_message(cid, "assistant", "another answer without a page", parent_id=a1.parent_id)
    assert lib.context_version(cid, a2.id).source == "<p>model</p>"  # type: ignore[union-attr]
