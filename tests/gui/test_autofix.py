"""Self-check and the bounded auto-fix loop, with the scripted engine answering the fix turns."""

# ruff: noqa: F811  (the make_window fixture is imported from test_window and named as a parameter)

from __future__ import annotations

import re

import pytest

from studio.engine.base import GenerationParams
from tests.gui.test_window import make_window  # noqa: F401  (fixture)

SETTLE_WAIT = 1200  # ms: long enough for a further (wrong) automatic fix to have started
# ms per verdict waited for: a render, its settle and a liveness probe (12 s deadline), on a loaded machine
CHECK_MS = 25_000


def answer(n_errors: int, title: str = "Widget") -> str:
    """An html answer whose page throws ``n_errors`` uncaught errors (0: a working page)."""
    scripts = "\n".join(f"<script>missingFunction{i}();</script>" for i in range(n_errors))
    return (
        "Here it is.\n\n```html\n<!DOCTYPE html>\n<html>\n<head><title>"
        f"{title}</title></head>\n<body>\n<h1>{title} works</h1>\n{scripts}\n</body>\n</html>\n```\n"
    )


def test_errors_in_fix_turn_out_new_version(qtbot, make_window) -> None:
    t = make_window([answer(2), answer(0, "Widget")], chunk_chars=64)
    fixer = t.w.autofix
    assert fixer.auto_fixes == 1
    verdicts: list = []
    fixer.checked.connect(verdicts.append)
    t.send(qtbot, "make a widget")
    qtbot.waitUntil(lambda: len(verdicts) >= 2, timeout=2 * CHECK_MS)
    assert [v.problems for v in verdicts] == [2, 0]
    assert len(t.engine.requests) == 2
    fix_turn = t.engine.requests[1][-1]["content"]
    # Each error with its line number, the lines around it marked, and the whole current source.
    assert "(line 7): Uncaught ReferenceError: missingFunction0 is not defined" in fix_turn
    assert re.search(r"^> +7 \| <script>missingFunction0\(\);</script>$", fix_turn, re.M)
    assert re.search(r"^  +6 \| <h1>Widget works</h1>$", fix_turn, re.M)
    assert "(line 8): Uncaught ReferenceError: missingFunction1" in fix_turn
    assert "```html\n<!DOCTYPE html>" in fix_turn
    # The chat shows the fix turn without the source it carries.
    assert "Auto-fix: The artifact you wrote does not work yet." in t.w.chat.plain_text()
    assert "Here is the current source" not in t.w.chat.plain_text()
    # The fix answer became the version on screen; the pane says it was fixed.
    assert t.w.session.current_version().html.count("missingFunction") == 0
    assert t.w.pane.console_entries() == [] or not any(
        e["level"] == "error" for e in t.w.pane.console_entries()
    )
    assert fixer.bar.isVisible() and fixer.label.text().startswith("Fixed (2 → 0")
    assert (
        len(
            {
                t.w.session.versions.get(m.id).number
                for m in t.w.conversation.path()
                if t.w.session.versions.get(m.id)
            }
        )
        == 2
    )


def test_loop_stops_early_when_a_fix_does_not_reduce_the_errors(qtbot, make_window) -> None:
    t = make_window([answer(1), answer(1, "Still broken"), answer(0)], chunk_chars=64)
    fixer = t.w.autofix
    fixer.set_auto_fixes(3)
    stops: list[str] = []
    fixer.stopped.connect(stops.append)
    t.send(qtbot, "make a widget")
    qtbot.waitUntil(lambda: bool(stops), timeout=2 * CHECK_MS)
    qtbot.wait(SETTLE_WAIT)
    assert stops == ["stalled"]
    assert len(t.engine.requests) == 2  # one fix, not three
    assert fixer.fix_button.isVisible()  # the user may still ask
    assert fixer.label.text().startswith("The fix did not help (1 → 1")


@pytest.mark.parametrize("limit", [0, 2])
def test_auto_fixes_are_bounded_then_offered(qtbot, make_window, limit: int) -> None:
    t = make_window([answer(3), answer(2), answer(1), answer(0)], chunk_chars=64)
    fixer = t.w.autofix
    fixer.set_auto_fixes(limit)
    verdicts: list = []
    fixer.checked.connect(verdicts.append)
    t.send(qtbot, "make a widget")
    qtbot.waitUntil(lambda: len(verdicts) >= limit + 1, timeout=(limit + 1) * CHECK_MS)
    qtbot.wait(SETTLE_WAIT)
    assert [v.problems for v in verdicts] == [3, 2, 1][: limit + 1]
    assert len(t.engine.requests) == limit + 1
    assert fixer.fix_button.isVisible()
    # "Fix it" by hand: one more fix.
    fixer.fix_button.click()
    qtbot.waitUntil(lambda: len(verdicts) >= limit + 2, timeout=CHECK_MS)
    assert len(t.engine.requests) == limit + 2
    assert verdicts[-1].problems == (2 if limit == 0 else 0)


def test_a_passing_artifact_shows_no_fix_bar(qtbot, make_window) -> None:
    t = make_window([answer(0)], chunk_chars=64)
    verdicts: list = []
    t.w.autofix.checked.connect(verdicts.append)
    t.send(qtbot, "make a widget")
    qtbot.waitUntil(lambda: bool(verdicts), timeout=CHECK_MS)
    assert verdicts[0].ok and not t.w.autofix.bar.isVisible()
    assert len(t.engine.requests) == 1


def test_a_blank_page_fails_the_check(qtbot, make_window) -> None:
    blank = "```html\n<!DOCTYPE html><html><body style='background:#fff'></body></html>\n```\n"
    t = make_window([blank, answer(0)], chunk_chars=64)
    verdicts: list = []
    t.w.autofix.checked.connect(verdicts.append)
    t.send(qtbot, "make a widget")
    qtbot.waitUntil(lambda: len(verdicts) >= 2, timeout=2 * CHECK_MS)
    assert verdicts[0].blank and not verdicts[0].errors
    assert "The page showed nothing" in t.engine.requests[1][-1]["content"]
    assert verdicts[1].ok


def test_auto_fix_runs_for_a_model_chosen_on_the_welcome_view_and_after_a_switch(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    """Regression: auto-fix heard only the controller the window started with, so with a model chosen
    on the welcome view (every first run) or switched to later, self-check and auto-fix never ran."""
    from tests.gui.scripted import ScriptedEngine

    engines: list[ScriptedEngine] = []

    def factory(name: str, model: str | None = None, **options: object) -> ScriptedEngine:
        engines.append(ScriptedEngine([answer(1), answer(0)], chunk_chars=64))
        return engines[-1]

    win = model_window(factory=factory)
    assert win.controller is None and win.models.welcome_shown
    verdicts: list = []
    win.autofix.checked.connect(verdicts.append)
    win.turns.params = GenerationParams(max_tokens=100_000)
    # What the welcome view's "Download and start" and the picker end in, once the model is found.
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        win.models.choose("scripted", "/models/first", {})
    assert not win.models.welcome_shown
    win.send("make a widget", [])
    qtbot.waitUntil(lambda: len(verdicts) >= 2, timeout=2 * CHECK_MS)
    assert [v.problems for v in verdicts] == [1, 0]
    assert len(engines[0].requests) == 2  # the fix turn went to the chosen model
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        win.models.switch("scripted", "/models/second", {})
    qtbot.waitUntil(lambda: not win.busy, timeout=5_000)
    win.send("make another widget", [])
    qtbot.waitUntil(lambda: len(verdicts) >= 4, timeout=2 * CHECK_MS)
    assert [v.problems for v in verdicts] == [1, 0, 1, 0]
    assert len(engines[1].requests) == 2  # and to the model switched to
