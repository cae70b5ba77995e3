"""Conversation.from_messages: a tree rebuilt from the library equals the tree that was stored."""

from __future__ import annotations

from pathlib import Path

from studio.core.attachments import Attachment
from studio.core.conversation import Conversation
from studio.store.library import Library


def _store(lib: Library, conv: Conversation) -> None:
    lib.create_conversation(conversation_id=conv.id)
    for msg in conv._messages.values():  # insertion order: parents first
        lib.add_message(
            conv.id,
            msg.role,
            msg.content,
            parent_id=msg.parent_id,
            message_id=msg.id,
            attachments=msg.attachments,
            finish_reason=msg.finish_reason,
        )
    lib.set_current(conv.id, conv.current_id)


def test_a_tree_with_branches_and_attachments_round_trips(tmp_path: Path) -> None:
    conv = Conversation()
    att = Attachment("data.csv", 4, "data", "text/csv", b"a,b\n", "data.csv: a,b")
    u1 = conv.add_user("plot this", [att])
    a1 = conv.add_assistant("first")
    conv.finish(a1.id, "first", "stop")
    a2 = conv.regenerate()
    conv.finish(a2.id, "second", "stop")
    u2 = conv.edit(u1.id, "plot this in red")
    conv.add_assistant("third")
    conv.switch_to(a1.id)  # the user went back to the first answer
    with Library(tmp_path / "lib.db") as lib:
        _store(lib, conv)
        stored = lib.load(conv.id)
    back = Conversation.from_messages(stored.messages, stored.current_id, stored.id)
    assert back.id == conv.id
    assert [m.id for m in back.path()] == [u1.id, a1.id]
    assert [m.id for m in back.siblings(a1.id)] == [a1.id, a2.id]
    assert [m.id for m in back.siblings(u1.id)] == [u1.id, u2.id]
    assert back.get(u1.id).attachments == (att,)
    assert back.get(a2.id).content == "second" and back.get(a2.id).finish_reason == "stop"
    assert back.to_chat_messages("S") == conv.to_chat_messages("S")


def test_an_unknown_current_leaf_falls_back_to_the_newest_branch() -> None:
    conv = Conversation()
    conv.add_user("hi")
    conv.add_assistant("hello")
    back = Conversation.from_messages(list(conv._messages.values()), "gone", "cid")
    assert back.current_id == conv.current_id
    assert Conversation.from_messages([], None, "empty").path() == []
