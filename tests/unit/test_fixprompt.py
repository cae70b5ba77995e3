"""The self-check verdict, the fix prompt and the bounded fix loop (no Qt)."""

from __future__ import annotations

from studio.core.fixprompt import FixLoop, Verdict, excerpt, fix_prompt, verdict_from

SOURCE = "\n".join(f"line {i}" for i in range(1, 21))


def err(message: str, line: int = 0) -> dict:
    return {"level": "error", "message": message, "line": line, "source": "artifact://a/index.html"}


def test_verdict_counts_errors_blank_and_hang() -> None:
    v = verdict_from([err("x", 3), {"level": "info", "message": "hi"}, err("y")], blank=True)
    assert v.problems == 3 and not v.ok and not v.hung
    assert v.summary() == "2 errors, blank"
    assert verdict_from([err("the page stopped responding and was stopped")]).hung
    assert verdict_from([]).ok and verdict_from([]).summary() == "no problems"


def test_excerpt_numbers_and_marks_the_line() -> None:
    assert excerpt(SOURCE, 10, 2).splitlines() == [
        "   8 | line 8",
        "   9 | line 9",
        "> 10 | line 10",
        "  11 | line 11",
        "  12 | line 12",
    ]
    assert excerpt(SOURCE, 1, 1).splitlines() == ["> 1 | line 1", "  2 | line 2"]
    assert excerpt(SOURCE, 99) == "" and excerpt(SOURCE, 0) == ""


def test_fix_prompt_has_errors_lines_around_them_and_the_source() -> None:
    v = Verdict(
        (err("Uncaught TypeError: a is undefined", 5), err("Uncaught TypeError: a is undefined", 5)),
        hung=True,
    )
    text = fix_prompt(v, "<p>src</p>", page=SOURCE)
    assert text.count("JavaScript error (line 5): Uncaught TypeError: a is undefined") == 1  # deduplicated
    assert "> 5 | line 5" in text and "  2 | line 2" in text and "line 9" not in text
    assert "stopped responding" in text
    assert "```html\n<p>src</p>\n```" in text
    assert "SEARCH/REPLACE edit blocks against the current source" in text
    assert "complete corrected file" in text  # still allowed when most of it must change
    assert "```jsx" in fix_prompt(Verdict(blank=True), "x", fence="jsx")


def test_fix_prompt_shows_at_most_eight_errors() -> None:
    v = Verdict(tuple(err(f"e{i}", i) for i in range(1, 13)))
    text = fix_prompt(v, SOURCE)
    assert "e8" in text and "e9" not in text and "... and 4 more errors" in text


def test_loop_auto_fixes_up_to_n_then_offers() -> None:
    loop = FixLoop(2)
    assert [loop.decide(Verdict(blank=True, errors=(err("x"),) * n)) for n in (3, 2, 1)] == [
        "auto",
        "auto",
        "offer",
    ]
    loop.reset()
    assert loop.decide(Verdict()) == "pass"


def test_loop_stops_when_a_fix_does_not_reduce_the_problems() -> None:
    loop = FixLoop(3)
    assert loop.decide(verdict_from([err("a")])) == "auto"
    assert loop.decide(verdict_from([err("b"), err("c")])) == "stalled"
    assert loop.decide(verdict_from([err("b")])) == "offer"  # never automatic again in this loop


def test_setting_is_clamped_to_three() -> None:
    assert FixLoop(7).auto_fixes == 3 and FixLoop(-1).auto_fixes == 0
    assert FixLoop(0).decide(verdict_from([err("a")])) == "offer"


def test_the_chat_shows_a_fix_turn_without_its_source() -> None:
    from studio.core.fixprompt import display_text

    verdict = verdict_from(
        [{"level": "error", "message": "Uncaught ReferenceError: x", "line": 2}], blank=False, hung=False
    )
    prompt = fix_prompt(verdict, "<html>\n<script>x()</script>\n</html>")
    shown = display_text(prompt)
    assert shown.startswith("Auto-fix: The artifact you wrote does not work yet.")
    assert "(line 2): Uncaught ReferenceError: x" in shown
    assert "Here is the current source" not in shown and "Fix every problem" not in shown
    assert display_text("make it blue") == "make it blue"
