"""The window's self-check with liveness: dead controls go to the model, the environment never does."""

# ruff: noqa: F811  (the make_window fixture is imported from test_window and named as a parameter)

from __future__ import annotations

from tests.gui.test_window import make_window  # noqa: F401  (fixture)


def _answer(body: str) -> str:
    return f"Here it is.\n\n```html\n<!DOCTYPE html>\n<html>\n<body>\n{body}\n</body>\n</html>\n```\n"


WORKING = _answer(
    "<button id=add>Add one</button> <span id=n>0</span>\n<script>let n = 0;\n"
    "add.addEventListener('click', () => { n++; document.getElementById('n').textContent = n; });\n</script>"
)
DEAD = _answer(
    "<button id=add>Add one</button> <span id=n>0</span>\n<script>let n = 0;\n"
    "add.addEventListener('click', () => { n++; });\n</script>"
)
NO_WEBGL = _answer(
    "<canvas id=c width=200 height=200></canvas>\n<script>\n"
    "HTMLCanvasElement.prototype.getContext = function () { return null; };\n"
    "const gl = c.getContext('webgl');\n"
    "if (!gl) throw new Error('Error creating WebGL context.');\n</script>"
)


def test_a_dead_button_is_fixed_with_what_was_tried(qtbot, make_window) -> None:
    t = make_window([DEAD, WORKING], chunk_chars=64)
    verdicts: list = []
    t.w.autofix.checked.connect(verdicts.append)
    t.send(qtbot, "a counter with an Add one button")
    qtbot.waitUntil(lambda: len(verdicts) >= 2, timeout=30000)
    assert verdicts[0].dead and verdicts[0].problems == 1 and not verdicts[0].errors
    fix_turn = t.engine.requests[1][-1]["content"]
    assert "clicked 'Add one': nothing changed" in fix_turn
    assert verdicts[1].ok
    assert t.w.pane.check_line.isVisible()
    assert t.w.pane.check_line.text() == "✓ renders · moves on input · responds"


def test_no_webgl_is_never_sent_to_the_model(qtbot, make_window) -> None:
    t = make_window([NO_WEBGL, WORKING], chunk_chars=64)
    verdicts: list = []
    t.w.autofix.checked.connect(verdicts.append)
    t.send(qtbot, "a spinning 3D cube")
    qtbot.waitUntil(lambda: bool(verdicts), timeout=30000)
    qtbot.wait(1200)  # a wrong automatic fix would have started by now
    assert len(t.engine.requests) == 1
    verdict = verdicts[0]
    assert verdict.ok and verdict.environment == ("webgl",) and len(verdict.env_errors) == 1
    assert t.w.autofix.bar.isVisible() and not t.w.autofix.fix_button.isVisible()
    assert t.w.autofix.label.text() == "This machine gave the artifact no WebGL (3D graphics) context."
    assert "no WebGL on this machine" in t.w.pane.check_line.text()
