"""ChatSession: the chat on screen without Qt (answer buffer, versions shown, edits, fix answers)."""

from __future__ import annotations

from studio.core.extract import extract
from studio.core.livepreview import Version
from studio.core.session import ChatSession

PAGE = "```html\n<!DOCTYPE html>\n<html><head><title>T</title></head><body>hi</body></html>\n```\n"


def test_the_answer_buffer_and_busy() -> None:
    s = ChatSession()
    assert not s.busy and s.artifact_id == s.conversation.id
    s.begin_answer("a1")
    s.append_answer("Hello, ")
    s.append_answer("world")
    assert s.busy and s.answer_id == "a1" and s.answer_text() == "Hello, world"
    s.end_answer()
    assert not s.busy and s.answer_text() == "Hello, world"  # readable until the next answer
    s.begin_answer(None)
    assert not s.busy and s.answer_text() == ""


def test_current_version_is_the_shown_one_else_the_newest_on_the_branch() -> None:
    s = ChatSession()
    s.conversation.add_user("make a page")
    answer = s.conversation.add_assistant()
    s.conversation.finish(answer.id, PAGE, "stop")
    assert s.current_version() is None
    newest = s.versions.record(answer.id, extract(PAGE))
    assert s.current_version() is newest
    other = Version("older", 1, extract(PAGE), "<p>older</p>")
    s.shown = other
    assert s.current_version() is other
    s.editing = "m1"
    s.interrupted = {"x"}
    s.leave()
    assert (s.shown, s.editing, s.interrupted, len(s.versions)) == (None, None, set(), 0)


def test_fix_answers_are_told_apart_by_their_prompt() -> None:
    s = ChatSession()
    s.conversation.add_user("make a page")
    first = s.conversation.add_assistant()
    fix = s.conversation.add_user("Auto-fix: it throws")
    s.fix_prompts.add(fix.content)
    second = s.conversation.add_assistant()
    assert not s.is_fix_answer(first.id) and s.is_fix_answer(second.id)
