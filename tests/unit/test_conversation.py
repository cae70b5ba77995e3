"""The conversation tree: branches from edit and regenerate, the path, the engine's messages."""

from __future__ import annotations

import pytest

from studio.core.conversation import Conversation
from studio.core.prompts import default_prompt as default_system_prompt


def _turn(conv: Conversation, question: str, answer: str) -> tuple[str, str]:
    user = conv.add_user(question)
    bot = conv.add_assistant()
    conv.finish(bot.id, answer, "stop")
    return user.id, bot.id


def test_path_follows_the_current_leaf() -> None:
    conv = Conversation()
    u1, a1 = _turn(conv, "make a clock", "<html>clock</html>")
    u2, a2 = _turn(conv, "make it red", "<html>red clock</html>")
    assert [m.id for m in conv.path()] == [u1, a1, u2, a2]
    assert conv.get(a2).parent_id == u2
    assert conv.get(u2).parent_id == a1
    assert conv.last("user").id == u2  # type: ignore[union-attr]
    assert len(conv) == 4


def test_regenerate_makes_a_sibling_answer_and_keeps_the_old_one() -> None:
    conv = Conversation()
    u1, a1 = _turn(conv, "q", "first answer")
    again = conv.regenerate()
    assert again.parent_id == u1
    assert again.content == ""
    assert [m.id for m in conv.siblings(again.id)] == [a1, again.id]
    assert [m.id for m in conv.path()] == [u1, again.id]
    assert conv.get(a1).content == "first answer"
    # The empty answer being generated is not sent to the engine.
    assert [m["role"] for m in conv.to_chat_messages()] == ["user"]
    conv.finish(again.id, "second answer", "stop")
    conv.switch_to(a1)
    assert conv.path()[-1].content == "first answer"


def test_edit_branches_at_the_user_turn_and_drops_later_turns_from_the_path() -> None:
    conv = Conversation()
    _u1, a1 = _turn(conv, "make a clock", "clock")
    u2, a2 = _turn(conv, "make it red", "red")
    edited = conv.edit(u2, "make it blue")
    assert edited.parent_id == a1
    assert [m.content for m in conv.path()] == ["make a clock", "clock", "make it blue"]
    assert [m.id for m in conv.siblings(u2)] == [u2, edited.id]
    # The old branch is still there, reachable by switching to it.
    conv.switch_to(u2)
    assert conv.path()[-1].id == a2
    with pytest.raises(ValueError):
        conv.edit(a1, "answers cannot be edited")


def test_switch_to_goes_to_the_newest_leaf_below() -> None:
    conv = Conversation()
    u1, _ = _turn(conv, "a", "b")
    conv.regenerate()
    newest = conv.path()[-1].id
    conv.switch_to(u1)
    assert conv.current_id == newest


def test_regenerate_without_an_answer_fails_clearly() -> None:
    conv = Conversation()
    with pytest.raises(ValueError, match="no answer"):
        conv.regenerate()
    conv.add_user("hello")
    with pytest.raises(ValueError, match="no answer"):
        conv.regenerate()


def test_to_chat_messages_puts_the_system_prompt_first() -> None:
    conv = Conversation()
    _turn(conv, "hi", "hello")
    msgs = conv.to_chat_messages("SYS")
    assert msgs == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert conv.to_chat_messages(None)[0]["role"] == "user"


def test_default_system_prompt_is_not_empty() -> None:
    assert len(default_system_prompt()) > 20


def test_ids_are_unique_and_parents_must_exist() -> None:
    conv = Conversation()
    ids = {conv.add_user(str(i)).id for i in range(50)}
    assert len(ids) == 50
    with pytest.raises(KeyError):
        conv.add_assistant(parent_id="nope")
    assert Conversation().id != Conversation().id
    assert Conversation("fixed").id == "fixed"


def test_user_turns_with_attachments_use_compose_user_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    attachments = pytest.importorskip("studio.core.attachments")
    csv = tmp_path / "sales.csv"
    csv.write_text("month,total\njan,10\nfeb,12\n")
    att = attachments.load_attachment(str(csv))
    conv = Conversation()
    conv.add_user("chart this", [att])
    conv.add_assistant()
    (user,) = [m for m in conv.to_chat_messages() if m["role"] == "user"]
    assert user["content"] == attachments.compose_user_message("chart this", [att])
    assert "sales.csv" in user["content"]
    assert [a.name for a in conv.attachments()] == ["sales.csv"]
    # An edit keeps the attachments unless new ones are given.
    edited = conv.edit(conv.path()[0].id, "bar chart")
    assert [a.name for a in edited.attachments] == ["sales.csv"]
    assert conv.edit(edited.id, "no data", []).attachments == ()
