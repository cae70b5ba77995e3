"""Patch turns in the window over a real library: edits applied as they stream, a version with
origin "patch" and its diff, the compact chat card, the fallback, and Stop. The engine is the
scripted one (UI tests only); the patch logic itself is tested in tests/unit/test_patch*.py.
"""

# ruff: noqa: F811  (the make_lwin fixture is imported from test_library_window and named as a parameter)

from __future__ import annotations

from studio.core.patch import apply_blocks, parse_blocks
from studio.core.patchturn import FALLBACK_OPENING
from tests.gui.test_library_window import make_lwin, page  # noqa: F401  (fixture)


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


BLUE = block("<style>body { color: red; }</style>", "<style>body { color: blue; }</style>")
HI = block("<p>hello</p>", "<p>hi there</p>\n<p>and welcome</p>")
TITLE = block("<title>Balls</title>", "<title>Blue Balls</title>")
PATCH = "Two edits:\n\n```html\n" + BLUE + "\n" + HI + "```\n"
MISSING = "Here:\n\n" + block("<canvas id='c'></canvas>", "<canvas id='game'></canvas>")


def quiet(t):  # type: ignore[no-untyped-def]
    """No automatic fix turns: a self-check that sees a frame before it is painted must not send one."""
    t.w.autofix.set_auto_fixes(0)
    return t


def recorded_renders(t) -> list[str]:  # type: ignore[no-untyped-def]
    """Every html the pane is asked to show from now on."""
    seen: list[str] = []
    original = t.w.pane.show_artifact

    def spy(artifact_id, html, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(html)
        return original(artifact_id, html, **kwargs)

    t.w.pane.show_artifact = spy
    return seen


def test_exact_blocks_make_a_patch_version_with_a_compact_card_and_a_diff(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = quiet(make_lwin([page("Balls"), PATCH, page("Balls", "hi", "green")]))
    t.send(qtbot, "a page")
    v1 = t.w.session.current_version()
    t.send(qtbot, "blue text and a warmer greeting")
    cid = t.w.conversation.id
    assert [(v.number, v.origin) for v in t.lib.versions(cid)] == [(1, "model"), (2, "patch")]
    v2 = t.lib.current_version(cid)
    assert v2 is not None and v2.source == apply_blocks(v1.artifact.source, parse_blocks(PATCH)).text
    assert "color: blue" in t.w.pane.current_html() and "<p>and welcome</p>" in t.w.pane.current_html()
    assert t.w.pane.version_bar.text() == "v2 of 2"
    assert t.w.pane.diff_view.pair() == (1, 2) and t.w.pane.diff_view.summary.text() == "+3 −2"
    # The chat shows one compact card, not the blocks; a click shows them.
    answer = t.w.chat.message(t.w.conversation.current_id)
    assert "2 edits, +3 \u22122 lines \u00b7 v2" in t.w.chat.plain_text()
    assert "=======" not in t.w.chat.plain_text()
    (card,) = [w for w in answer.widgets() if type(w).__name__ == "PatchCard"]
    card.toggle()
    assert "<<<<<<< SEARCH\n<p>hello</p>" in card.text()
    # The next turn carries the patched source (the model never wrote it whole).
    t.send(qtbot, "green")
    asked = t.engine.requests[2][-1]["content"]
    assert asked.startswith("The current version of the artifact (after your edits were applied)")
    assert "color: blue" in asked and asked.endswith("green")


def test_blocks_apply_as_they_stream_and_no_broken_page_is_ever_shown(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    answer = "Three edits:\n\n```html\n" + BLUE + TITLE + HI + "```\n"
    t = quiet(make_lwin([page("Balls"), answer]))
    t.send(qtbot, "a page")
    base = t.w.session.current_version()
    renders = recorded_renders(t)
    t.engine.chunk_chars, t.engine.delay = 5, 0.004
    t.send(qtbot, "edit it")
    blocks = parse_blocks(answer)
    sources = [apply_blocks(base.artifact.source, blocks[:k]).text for k in range(4)]
    assert renders, "nothing rendered"
    for html in renders:
        assert "<<<<<<<" not in html and "=======" not in html and html.rstrip().endswith("</html>")
    # One render per completed block (1, 2, then 3 blocks applied), then the final one.
    marks = [(("blue" in h), ("Blue Balls" in h), ("and welcome" in h)) for h in renders]
    assert (
        marks[0] == (True, False, False) and (True, True, False) in marks and marks[-1] == (True, True, True)
    )
    assert t.lib.current_version(t.w.conversation.id).source == sources[3]  # type: ignore[union-attr]


def test_a_failing_block_asks_once_for_the_complete_file(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = quiet(make_lwin([page("Balls"), MISSING, page("Balls", "hello", "green")]))
    t.send(qtbot, "a page")
    t.send(qtbot, "rename the canvas")
    cid = t.w.conversation.id
    qtbot.waitUntil(lambda: len(t.lib.versions(cid)) == 2 and not t.w.busy, timeout=30000)
    assert [(v.number, v.origin) for v in t.lib.versions(cid)] == [(1, "model"), (2, "model")]
    assert "color: green" in t.lib.current_version(cid).source  # type: ignore[union-attr]
    fallback = t.engine.requests[2][-1]["content"]
    assert FALLBACK_OPENING in fallback and "<canvas id='c'></canvas>" in fallback
    assert "the SEARCH text matches nothing in the current file" in fallback
    assert "```html\n<!DOCTYPE html>" in fallback  # the current source went with it
    shown = t.w.chat.plain_text()
    assert "1 of 1 edit failed" in shown and FALLBACK_OPENING in shown
    assert "asking the model for the complete file" in shown
    assert len(t.engine.requests) == 3  # asked once


def test_stop_mid_patch_leaves_the_version_untouched(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    answer = "Edits:\n\n" + BLUE + "\n" + "Now the greeting, slowly. " * 40 + "\n\n" + HI
    t = quiet(make_lwin([page("Balls"), answer]))
    t.send(qtbot, "a page")
    cid = t.w.conversation.id
    base = t.w.session.current_version()
    renders = recorded_renders(t)
    t.engine.chunk_chars, t.engine.delay = 4, 0.01
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        t.w.send("blue and a warmer greeting", [])
        qtbot.waitUntil(lambda: any("color: blue" in h for h in renders), timeout=15000)
        t.w.stop()
    qtbot.waitUntil(lambda: not t.w.pane.is_rendering(), timeout=15000)
    assert [v.number for v in t.lib.versions(cid)] == [1]
    assert t.w.pane.current_html() == base.html  # the first block's page is gone again
    assert renders[-1] == base.html
    assert t.w.conversation.get(t.w.conversation.current_id).finish_reason == "cancelled"
    assert "stopped: the current version is unchanged" in t.w.chat.plain_text()
    assert t.w.session.current_version().html == base.html


def test_a_patch_applies_on_top_of_the_users_source_edit(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    grow = block("<p>green balls</p>", "<p>big green balls</p>")
    t = quiet(make_lwin([page("Balls", "small balls"), "Bigger:\n\n" + grow]))
    t.send(qtbot, "balls")
    cid = t.w.conversation.id
    source = t.w.session.current_version().artifact.source.replace("small balls", "green balls")
    t.w.flow.run_edit(source)  # what Ctrl+Return in the Source tab does
    assert [v.origin for v in t.lib.versions(cid)] == ["model", "edit"]
    t.send(qtbot, "make the balls bigger")
    asked = t.engine.requests[-1][-1]["content"]
    assert (
        asked.startswith("The current version of the artifact (edited by the user)")
        and "green balls" in asked
    )
    assert [v.origin for v in t.lib.versions(cid)] == ["model", "edit", "patch"]
    assert t.lib.current_version(cid).source == source.replace("green balls", "big green balls")  # type: ignore[union-attr]


def test_an_auto_fix_answered_with_edits_makes_the_fixed_version(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    broken = page("Balls", "hello").replace(
        "<p>hello</p>", "<p>hello</p>\n<script>missingFunction();</script>"
    )
    fix = "Removed the call:\n\n" + block(
        "<script>missingFunction();</script>", "<script>console.log('ok');</script>"
    )
    t = make_lwin([broken, fix])
    verdicts: list = []
    t.w.autofix.checked.connect(verdicts.append)
    t.send(qtbot, "a page")
    qtbot.waitUntil(lambda: len(verdicts) >= 2, timeout=30000)
    assert [v.problems for v in verdicts] == [1, 0]
    assert "SEARCH/REPLACE edit blocks" in t.engine.requests[1][-1]["content"]
    cid = t.w.conversation.id
    assert [v.origin for v in t.lib.versions(cid)] == ["model", "autofix"]
    assert "missingFunction" not in t.lib.current_version(cid).source  # type: ignore[union-attr]


def test_regenerating_a_patch_answer_edits_the_version_it_had_patched(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    green = block("<style>body { color: red; }</style>", "<style>body { color: green; }</style>")
    t = quiet(make_lwin([page("Balls"), BLUE, green]))
    t.send(qtbot, "a page")
    t.send(qtbot, "another colour")
    cid = t.w.conversation.id
    assert [(v.number, v.origin, v.based_on) for v in t.lib.versions(cid)] == [
        (1, "model", None),
        (2, "patch", 1),
    ]
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        t.w.turns.regenerate()
    qtbot.waitUntil(lambda: not t.w.pane.is_rendering(), timeout=15000)
    # The model is asked the same question over the same context (its own first answer), and its new
    # edits apply to v1, not on top of the blue v2 they replace.
    assert t.engine.requests[2][-1]["content"] == "another colour"
    assert [(v.number, v.origin, v.based_on) for v in t.lib.versions(cid)][-1] == (3, "patch", 1)
    v3 = t.lib.current_version(cid)
    assert v3 is not None and "color: green" in v3.source and "color: blue" not in v3.source
    assert "color: green" in t.w.pane.current_html()
