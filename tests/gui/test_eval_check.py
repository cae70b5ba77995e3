"""eval's headless check of an answer and its fix count (scripted engine, real checker)."""

from __future__ import annotations

from studio.cli.evaluate import EvalPrompt, check_answer, run_prompt, table
from studio.engine.base import GenerationParams
from tests.gui.scripted import ScriptedEngine

GOOD = "```html\n<!DOCTYPE html><html><body><h1>Hello</h1><p>Works.</p></body></html>\n```\n"
BROKEN = "```html\n<!DOCTYPE html><html><body><h1>Hello</h1>\n<script>nope();</script></body></html>\n```\n"


def test_check_answer_renders_the_artifact_headless(qapp) -> None:  # type: ignore[no-untyped-def]
    report, artifact = check_answer(GOOD, wait_ms=200)
    assert artifact is not None and report is not None
    assert report["loaded"] and report["errors"] == 0 and not report["blank"]
    report, _ = check_answer(BROKEN, wait_ms=200)
    assert report is not None and report["errors"] == 1
    assert check_answer("Just prose, no code.") == (None, None)


def test_fixes_are_counted_and_bounded(qapp) -> None:  # type: ignore[no-untyped-def]
    params = GenerationParams(max_tokens=10_000)
    item = EvalPrompt("hello", "Say hello.", "ui")
    engine = ScriptedEngine([BROKEN, GOOD], chunk_chars=256)
    row = run_prompt(engine, item, params, fixes=1, wait_ms=200, system="SYSTEM")
    assert [a.ok for a in row.attempts] == [False, True] and row.fixes_needed == 1
    assert "nope is not defined" in engine.requests[1][-1]["content"]
    engine = ScriptedEngine([BROKEN], chunk_chars=256)
    row = run_prompt(engine, item, params, fixes=3, wait_ms=200, system="SYSTEM")
    assert len(row.attempts) == 2 and row.fixes_needed is None  # the fix did not help: stop
    never = row
    row = run_prompt(ScriptedEngine([BROKEN, GOOD]), item, params, fixes=0, wait_ms=200, system="SYSTEM")
    assert len(row.attempts) == 1 and row.fixes_needed is None
    text = table([run_prompt(ScriptedEngine([GOOD]), item, params, fixes=1, wait_ms=200, system="S"), never])
    rows = text.splitlines()
    assert rows[1].split()[:3] == ["hello", "ok", "0"]
    assert rows[2].split()[:3] == ["hello", "FAIL", "never"]
    assert rows[2].endswith("1 error: Uncaught ReferenceError: nope is not defined (line 3)")  # what, where


DEAD = (
    "```html\n<!DOCTYPE html><html><body><button id=add>Add one</button> <span id=n>0</span>\n"
    "<script>let n = 0; add.addEventListener('click', () => { n++; });</script></body></html>\n```\n"
)
ALIVE = (
    "```html\n<!DOCTYPE html><html><body><button id=add>Add one</button> <span id=n>0</span>\n"
    "<script>let n = 0; add.addEventListener('click', () => { n++; n_.textContent = n; });"
    "const n_ = document.getElementById('n');</script></body></html>\n```\n"
)


def test_the_table_has_the_liveness_columns_and_a_dead_control_fails(qapp) -> None:  # type: ignore[no-untyped-def]
    params = GenerationParams(max_tokens=10_000)
    item = EvalPrompt("counter", "A counter with an Add one button.", "ui")
    engine = ScriptedEngine([DEAD, ALIVE], chunk_chars=256)
    row = run_prompt(engine, item, params, fixes=1, wait_ms=200, system="SYSTEM")
    first, fixed = row.attempts
    assert first.dead and not first.ok and first.errors == 0 and first.responds is False
    assert "clicked 'Add one': nothing changed" in engine.requests[1][-1]["content"]
    assert fixed.ok and fixed.responds is True and row.fixes_needed == 1
    lines = table([row]).splitlines()
    assert lines[0].split()[:8] == [
        "prompt",
        "render",
        "fixes",
        "moves",
        "responds",
        "overflow",
        "fps",
        "long",
    ]
    cells = lines[1].split()
    assert cells[:7] == ["counter", "FAIL", "1", "no", "no", "no", cells[6]] and float(cells[6]) > 0
    assert lines[1].endswith("controls do nothing: clicked 'Add one': nothing changed")
