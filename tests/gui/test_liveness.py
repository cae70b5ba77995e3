"""The liveness fields of ``check``: alive, responds, overflow, fps, long_tasks (real QtWebEngine).

Each page is built so that one field must flip: static vs animated, a working vs a dead button,
keys that move something vs keys that change nothing, an environment without WebGL.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from studio.cli.check import check_main
from studio.web.checker import check_file

STATIC = "<h1>Hello</h1><p>Nothing moves here.</p>"
ANIMATED = (
    "<div id=b style='position:absolute;width:40px;height:40px;background:#c00'></div><script>"
    "let x = 0; (function step() { x = (x + 3) % 600; b.style.left = x + 'px';"
    " requestAnimationFrame(step); })();</script>"
)
CSS_ANIMATED = (
    "<style>@keyframes s{from{transform:rotate(0)}to{transform:rotate(360deg)}}"
    "div{width:80px;height:80px;background:#06c;animation:s 1.3s linear infinite}</style><div></div>"
)
KEYS = (
    "<div id=b style='position:absolute;left:100px;top:100px;width:40px;height:40px;background:#0a0'></div>"
    "<script>let x = 100; document.addEventListener('keydown', (e) => {"
    " if (e.key === 'ArrowRight') x += 10; if (e.key === 'ArrowLeft') x -= 10;"
    " b.style.left = x + 'px'; });</script>"
)
DEAD_KEYS = (
    "<p>Use the arrows</p><script>let x = 0; document.addEventListener('keydown', (e) => {"
    " if (e.key === 'ArrowRight') x += 1; });</script>"
)
BUTTON = (
    "<button id=add>Add one</button> <span id=n>0</span><script>let n = 0;"
    " add.addEventListener('click', () => { n++; document.getElementById('n').textContent = n; });</script>"
)
DEAD_BUTTON = (
    "<button id=add>Add one</button> <span id=n>0</span><script>let n = 0;"
    " add.addEventListener('click', () => { n++; });</script>"
)
CANVAS_CLICK = (
    "<canvas id=c width=300 height=200 style='border:1px solid #000'></canvas><script>"
    "const g = c.getContext('2d'); c.addEventListener('mousedown', (e) => {"
    " g.fillStyle = '#c00'; g.fillRect(e.offsetX - 10, e.offsetY - 10, 20, 20); });</script>"
)
# A board of plain <div> cells, each given a listener (no button anywhere), and one whose cells do nothing.
BOARD = (
    "<style>.cell{display:inline-block;width:60px;height:60px;border:1px solid #000}</style>"
    + "<div class=cell></div>" * 9
    + "<script>document.querySelectorAll('.cell').forEach((c) => c.addEventListener('click',"
    " () => { c.textContent = 'X'; }));</script>"
)
DEAD_BOARD = BOARD.replace("c.textContent = 'X';", "")
# The same board wired through the onclick property instead of addEventListener.
ONCLICK_BOARD = BOARD.replace(
    "c.addEventListener('click', () => { c.textContent = 'X'; })",
    "c.onclick = () => { c.textContent = 'X'; }",
)
WIDE = "<div style='width:2000px;height:40px;background:linear-gradient(90deg,#fff,#000)'>wide</div>"
LONG_TASK = (
    "<h1>slow start</h1><script>setTimeout(() => { const t = performance.now();"
    " while (performance.now() - t < 320) {} }, 0);</script>"
)
BUSY = (
    "<h1>busy</h1><script>setInterval(() => { const t = performance.now();"
    " while (performance.now() - t < 90) {} }, 0);</script>"
)
# A machine without WebGL, as three.js meets it: no context, then its own error.
NO_WEBGL = (
    "<canvas id=c width=200 height=200></canvas><script>"
    "HTMLCanvasElement.prototype.getContext = function () { return null; };"
    "const gl = c.getContext('webgl');"
    "if (!gl) throw new Error('Error creating WebGL context.');</script>"
)


def _check(tmp_path: Path, html: str, name: str = "page.html") -> dict:
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><body>{html}</body></html>", encoding="utf-8")
    return check_file(path, wait_ms=200)


def test_static_page_is_not_alive_and_has_nothing_to_interact_with(qapp, tmp_path) -> None:
    report = _check(tmp_path, STATIC)
    assert report["alive"] is False
    assert report["responds"] is None and report["tried"] == []
    assert report["overflow"] is False
    assert report["long_tasks"] == 0
    assert report["fps"] > 0


@pytest.mark.parametrize("html", [ANIMATED, CSS_ANIMATED], ids=["raf", "css"])
def test_animated_page_is_alive(qapp, tmp_path, html) -> None:
    assert _check(tmp_path, html)["alive"] is True


def test_working_button_responds(qapp, tmp_path) -> None:
    report = _check(tmp_path, BUTTON)
    assert report["responds"] is True
    assert report["tried"] == ["clicked 'Add one': the page changed"]


def test_dead_button_does_not_respond_and_says_what_was_tried(qapp, tmp_path) -> None:
    report = _check(tmp_path, DEAD_BUTTON)
    assert report["alive"] is False
    assert report["responds"] is False
    assert report["tried"] == ["clicked 'Add one': nothing changed"]


def test_key_driven_page_responds_to_arrows(qapp, tmp_path) -> None:
    report = _check(tmp_path, KEYS)
    assert report["alive"] is False and report["responds"] is True
    assert any(t.startswith("pressed ArrowLeft") and t.endswith("the page changed") for t in report["tried"])


def test_keys_that_change_nothing_do_not_respond(qapp, tmp_path) -> None:
    report = _check(tmp_path, DEAD_KEYS)
    assert report["responds"] is False
    assert report["tried"] == [
        "pressed ArrowLeft, ArrowRight, ArrowUp, ArrowDown, Space, Enter: nothing changed"
    ]


def test_canvas_centre_click_draws(qapp, tmp_path) -> None:
    report = _check(tmp_path, CANVAS_CLICK)
    assert report["responds"] is True
    assert report["tried"] == ["clicked the canvas centre: the page changed"]


def test_horizontal_overflow_at_1024(qapp, tmp_path) -> None:
    assert _check(tmp_path, WIDE)["overflow"] is True


def test_long_task_is_counted(qapp, tmp_path) -> None:
    assert _check(tmp_path, LONG_TASK)["long_tasks"] >= 1


def test_a_busy_main_thread_drops_the_frame_rate(qapp, tmp_path) -> None:
    idle = _check(tmp_path, STATIC)["fps"]
    busy = _check(tmp_path, BUSY, "busy.html")["fps"]
    assert busy < 15 < idle


def test_no_webgl_is_an_environment_issue(qapp, tmp_path) -> None:
    report = _check(tmp_path, NO_WEBGL)
    assert report["errors"] == 1 and "WebGL" in report["console"][0]["message"]
    assert report["webgl"] is False
    assert report["environment"] == ["webgl"]


def test_check_json_carries_the_new_fields(qapp, tmp_path, capsys) -> None:
    path = tmp_path / "button.html"
    path.write_text(DEAD_BUTTON, encoding="utf-8")
    args = SimpleNamespace(file=str(path), screenshot=None, wait_ms=200, json=True)
    assert check_main(args) == 0  # liveness is reported, the exit code stays about errors
    report = json.loads(capsys.readouterr().out)
    for name in ("alive", "responds", "overflow", "fps", "long_tasks", "tried", "environment"):
        assert name in report
    assert report["responds"] is False


CANVAS_ANIMATION = (
    "<canvas id=c width=300 height=200></canvas><script>const g = c.getContext('2d'); let x = 0;"
    "(function step() { x = (x + 4) % 300; g.fillStyle = '#fff'; g.fillRect(0, 0, 300, 200);"
    " g.fillStyle = '#00c'; g.fillRect(x, 80, 30, 30); requestAnimationFrame(step); })();</script>"
)


def test_an_animation_without_handlers_has_nothing_to_interact_with(qapp, tmp_path) -> None:
    report = _check(tmp_path, CANVAS_ANIMATION)
    assert report["alive"] is True
    assert report["responds"] is None and report["tried"] == []


def test_a_decorative_button_is_not_a_dead_control(qapp, tmp_path) -> None:
    """The user asked for a red button, not for what it does: nothing listens, nothing is clicked."""
    report = _check(tmp_path, "<button style='background:red;color:white'>Click me</button>")
    assert report["responds"] is None and report["tried"] == []
    handler = _check(tmp_path, "<button onclick='x = 1'>Click me</button>", "attr.html")
    assert handler["responds"] is False  # it has a handler, and the handler changes nothing


@pytest.mark.parametrize("html", [BOARD, ONCLICK_BOARD], ids=["listener", "onclick"])
def test_a_board_of_plain_cells_is_clicked_once_per_kind(qapp, tmp_path, html) -> None:
    """A turn-based game is still until played: its cells are clicked, so it is not "never moves"."""
    report = _check(tmp_path, html)
    assert report["alive"] is False
    assert report["responds"] is True
    assert report["tried"] == ["clicked '.cell': the page changed"]


def test_a_board_whose_cells_do_nothing_does_not_respond(qapp, tmp_path) -> None:
    report = _check(tmp_path, DEAD_BOARD)
    assert report["responds"] is False
    assert report["tried"] == ["clicked '.cell': nothing changed"]
