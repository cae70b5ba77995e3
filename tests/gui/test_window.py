"""The whole window, driven by the scripted engine replaying REAL corpus answers chunk by chunk.

The preview is checked on the page that is on screen (runJavaScript), the chat and the composer
through their public API, files through real QDropEvents, export through the real (non-native)
file dialog and the checker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from studio.core.serving import host_for
from studio.engine.base import EngineError, GenerationParams
from studio.ui.generation import GenerationController
from studio.ui.mainwindow import NO_MODEL_HINT, MainWindow
from studio.web.preview import SandboxView
from tests.gui.dnd import drop_files
from tests.gui.scripted import CORPUS, ScriptedEngine, corpus_answer

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no answer corpus at {CORPUS}")


class Win:
    """A window under test with its engine and a log of what the pane and controller did."""

    def __init__(self, window: MainWindow, engine: ScriptedEngine | None) -> None:
        self.w = window
        self.engine = engine
        self.events: list[tuple[str, object]] = []
        window.pane.rendered.connect(lambda aid, final: self.events.append(("rendered", final)))
        if window.controller is not None:
            window.controller.finished.connect(
                lambda rid, c: self.events.append(("finished", c.finish_reason))
            )

    def renders(self, final: bool | None = None) -> list[object]:
        return [v for k, v in self.events if k == "rendered" and (final is None or v == final)]

    def send(self, qtbot, text: str, wait: bool = True) -> None:  # type: ignore[no-untyped-def]
        if not wait:
            self.w.send(text, [])
            return
        with qtbot.waitSignal(self.w.controller.finished, timeout=30000):
            self.w.send(text, [])


@pytest.fixture
def make_window(qtbot, artifact_server, artifact_profile, tmp_path) -> Iterator[Callable[..., Win]]:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []

    def make(answers=None, *, settings: QSettings | None = None, **engine_kw) -> Win:  # type: ignore[no-untyped-def]
        engine = ScriptedEngine(answers, **engine_kw) if answers is not None else None
        controller = GenerationController(engine) if engine is not None else None
        window = MainWindow(
            artifact_server,
            artifact_profile,
            controller,
            params=GenerationParams(max_tokens=100_000),
            settings=settings or QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
            system_prompt="SYSTEM",
            native_dialogs=False,
        )
        made.append(window)
        window.show()
        qtbot.waitExposed(window)
        return Win(window, engine)

    yield make
    for window in made:
        window.close()
        if window.controller is not None:
            assert not window.controller.worker_thread.isRunning()
        if shiboken6.isValid(window):
            shiboken6.delete(window)  # its pages go before the profile


def shown_page(qtbot, win: MainWindow):  # type: ignore[no-untyped-def]
    """The page on screen in the preview (after any render in flight has settled)."""
    qtbot.waitUntil(lambda: not win.pane.is_rendering(), timeout=15000)
    views = [v for v in win.pane.findChildren(SandboxView) if v.isVisible()]
    assert len(views) == 1
    return views[0].page()


def run_js(qtbot, page, script: str):  # type: ignore[no-untyped-def]
    """Run a script on a page and return its (JSON-decoded) result."""
    box: list[object] = []
    page.runJavaScript(f"JSON.stringify((() => {{ {script} }})())", 0, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    return json.loads(box[0]) if isinstance(box[0], str) and box[0] else box[0]


def composer_has_focus(win: MainWindow) -> bool:
    focus = QApplication.focusWidget()
    return focus is not None and (focus is win.composer or win.composer.isAncestorOf(focus))


# -- streaming into the chat and the preview ---------------------------------------------------


@needs_corpus
def test_answer_renders_mid_stream_and_at_the_end_without_taking_focus(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    answer = corpus_answer("01")
    t = make_window([answer], chunk_chars=6, delay=0.012)
    win = t.w
    win.composer.focus_input()
    qtbot.waitUntil(lambda: composer_has_focus(win), timeout=3000)
    focus_lost = []
    t.w.pane.rendered.connect(lambda *_: focus_lost.append(not composer_has_focus(win)))
    t.send(qtbot, "a random joke page")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    order = [e for e in t.events if e[0] in ("rendered", "finished")]
    # At least one streaming render reached the screen before the answer ended.
    assert ("rendered", False) in order[: order.index(("finished", "stop"))]
    assert focus_lost and not any(focus_lost)
    assert composer_has_focus(win)
    page = shown_page(qtbot, win)
    assert run_js(qtbot, page, "return document.title") == "Random Joke Generator"
    assert run_js(qtbot, page, "return document.querySelectorAll('button').length") == 1
    clicked = "document.querySelector('button').click(); return document.getElementById('joke').textContent"
    assert "Why" in run_js(qtbot, page, clicked)
    # The conversation holds the whole answer; version 1 of the conversation's artifact.
    assert win.conversation.path()[-1].content == answer
    assert win.session.versions.get(win.conversation.path()[-1].id).number == 1
    assert win.pane.current_html() == win.session.current_version().html
    assert "tok/s" in win.status.stats_label.text()
    assert "generated tokens" in win.status.stats_label.text()
    assert not win.busy


@needs_corpus
def test_split_html_css_js_answer_renders_as_one_page(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window([corpus_answer("13")], chunk_chars=64, delay=0.001)
    t.send(qtbot, "an OS emulator")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    page = shown_page(qtbot, t.w)
    assert run_js(qtbot, page, "return document.title") == "Simple OS Emulator"
    style = "return getComputedStyle(document.querySelector('.window')).position"
    assert run_js(qtbot, page, style) == "absolute"  # the css block was inlined
    assert run_js(qtbot, page, "return typeof createFile") == "function"  # and the js block


@needs_corpus
def test_think_block_then_bare_document(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window([corpus_answer("33")], chunk_chars=80, delay=0.001)
    t.send(qtbot, "tic tac toe")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    page = shown_page(qtbot, t.w)
    assert run_js(qtbot, page, "return document.title") == "Tic Tac Toe with a Twist"
    assert "</think>" not in t.w.pane.current_html()


@needs_corpus
def test_refusal_renders_nothing(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window([corpus_answer("28")], chunk_chars=4)
    t.send(qtbot, "an exact copy of PAC-MAN")
    qtbot.wait(200)
    assert t.renders() == []
    assert t.w.pane.current_html() is None
    assert len(t.w.session.versions) == 0
    assert t.w.conversation.path()[-1].finish_reason == "stop"


# -- stop, regenerate, edit --------------------------------------------------------------------


@needs_corpus
def test_stop_ends_quickly_and_keeps_the_last_good_frame(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    # Corpus 01 streamed slowly and then an endless tail inside the open html block.
    answer = corpus_answer("01").split("</body>")[0] + "<div>" + "<p>more</p>\n" * 5000
    t = make_window([answer], chunk_chars=8, delay=0.01)
    t.send(qtbot, "jokes", wait=False)
    qtbot.waitUntil(lambda: bool(t.renders(final=False)), timeout=15000)
    qtbot.waitUntil(lambda: not t.w.pane.is_rendering(), timeout=15000)
    frame = t.w.pane.current_html()
    assert frame is not None
    with qtbot.waitSignal(t.w.controller.finished, timeout=10000):
        qtbot.keyClick(t.w, Qt.Key.Key_Escape)
    assert t.engine.produced <= t.engine.produced_at_cancel + 1  # stopped within a token (counted)
    assert t.events[-1] == ("finished", "cancelled")
    assert t.w.conversation.path()[-1].finish_reason == "cancelled"
    qtbot.wait(400)
    # Stopped mid-artifact: no final render of the cut-off page; the last good frame stays.
    assert t.renders(final=True) == []
    assert t.w.pane.current_html() is not None
    assert "Random Joke Generator" in t.w.pane.current_html()
    assert not t.w.busy
    assert composer_has_focus(t.w)


@needs_corpus
def test_regenerate_streams_a_new_branch_and_version(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    first = corpus_answer("01")
    second = corpus_answer("33")
    t = make_window([first, second], chunk_chars=64, delay=0.001)
    t.send(qtbot, "a page")
    # (A newer answer's stream may rightly supersede a final render still waiting in the pane.)
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    old = t.w.conversation.path()[-1]
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        qtbot.keyClick(t.w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    new = t.w.conversation.path()[-1]
    assert new.id != old.id
    assert new.parent_id == old.parent_id
    assert [m.id for m in t.w.conversation.siblings(new.id)] == [old.id, new.id]
    assert new.content == second
    # The engine was asked the same question again (the old answer is not in the prompt).
    assert t.engine.requests[1] == t.engine.requests[0]
    assert t.w.session.versions.get(old.id).number == 1
    assert t.w.session.versions.get(new.id).number == 2
    qtbot.waitUntil(lambda: len(t.renders(final=True)) >= 2, timeout=15000)
    assert run_js(qtbot, shown_page(qtbot, t.w), "return document.title") == "Tic Tac Toe with a Twist"
    # Clicking the first answer's card shows version 1 again.
    with qtbot.waitSignal(t.w.pane.rendered, timeout=15000):
        t.w.chat.artifactActivated.emit(old.id)
    assert run_js(qtbot, shown_page(qtbot, t.w), "return document.title") == "Random Joke Generator"


def test_edit_puts_the_text_back_and_answers_on_a_branch(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window(["first answer", "second answer"], chunk_chars=4)
    t.send(qtbot, "make a clock")
    first_user = t.w.conversation.path()[0]
    qtbot.keyClick(t.w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert t.w.composer.text() == "make a clock"
    t.w.composer.set_text("make a red clock")
    with qtbot.waitSignal(t.w.controller.finished, timeout=10000):
        qtbot.keyClick(t.w.composer.input, Qt.Key.Key_Return)  # Enter sends
    path = t.w.conversation.path()
    assert [m.content for m in path] == ["make a red clock", "second answer"]
    assert [m.id for m in t.w.conversation.siblings(path[0].id)] == [first_user.id, path[0].id]
    assert t.engine.requests[-1][-1] == {"role": "user", "content": "make a red clock"}
    assert t.engine.requests[-1][0] == {"role": "system", "content": "SYSTEM"}


# -- errors and the no-model window ------------------------------------------------------------


def test_an_engine_that_raises_shows_an_error_and_the_app_keeps_working(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window([RuntimeError("the GPU caught fire"), EngineError("out of memory"), "all good"])
    t.send(qtbot, "one")
    assert t.events[-1] == ("finished", "error")
    msg = t.w.conversation.path()[-1]
    assert msg.finish_reason == "error"
    assert "the GPU caught fire" in msg.error
    assert "GPU caught fire" in t.w.status.stats_label.text()
    assert "the GPU caught fire" in t.w.chat.plain_text()
    t.send(qtbot, "two")
    assert t.w.conversation.path()[-1].error == "out of memory"
    t.send(qtbot, "three")
    assert t.w.conversation.path()[-1].content == "all good"
    assert t.w.conversation.path()[-1].finish_reason == "stop"


def test_without_a_model_the_window_explains_how_to_pick_one(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window(None)
    assert "artifacts-studio --model PATH" in NO_MODEL_HINT
    assert t.w.status.model_label.text() == "No model"
    assert "artifacts-studio --model PATH" in t.w.chat.plain_text()
    t.w.send("hello", [])
    last = t.w.conversation.path()[-1]
    assert last.finish_reason == "error"
    assert last.error == NO_MODEL_HINT
    assert not t.w.busy


# -- attachments: drag and drop, served to the artifact ----------------------------------------

FETCH_PAGE = """Here you go:

```html
<!DOCTYPE html>
<html><head><title>loading</title></head>
<body><pre id="out"></pre>
<script>
fetch("data/sales.csv").then(r => r.text()).then(t => {
  document.getElementById("out").textContent = t;
  document.title = "rows:" + t.trim().split("\\n").length;
}).catch(e => { document.title = "failed:" + e; });
</script>
</body></html>
```
"""


def _drop(qtbot, target: QWidget, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """Deliver a real drag-enter + drop of local files to a widget; it must take them."""
    assert drop_files(target, paths).isAccepted()


def _drop_target(widget: QWidget) -> QWidget:
    """The widget under the center of ``widget`` that accepts drops (itself or a child)."""
    child = widget.childAt(widget.rect().center())
    while child is not None and child is not widget and not child.acceptDrops():
        child = child.parentWidget()
    return child if child is not None and child.acceptDrops() else widget


@pytest.mark.parametrize("onto", ["composer", "chat"])
def test_dropped_csv_becomes_a_chip_is_sent_and_is_served_to_the_page(
    qtbot, make_window, tmp_path, onto
) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "sales.csv"
    csv.write_text("month,total\njan,10\nfeb,12\nmar,9\n")
    t = make_window([FETCH_PAGE], chunk_chars=32)
    target = t.w.composer if onto == "composer" else t.w.chat
    _drop(qtbot, _drop_target(target), [csv])
    qtbot.waitUntil(lambda: [a.name for a in t.w.composer.attachments()] == ["sales.csv"], timeout=3000)
    with qtbot.waitSignal(t.w.controller.finished, timeout=10000):
        t.w.composer.set_text("chart the sales")
        t.w.composer.submit()
    user_turn = t.engine.requests[-1][-1]
    assert user_turn["role"] == "user"
    assert "sales.csv" in user_turn["content"]
    assert "data/sales.csv" in user_turn["content"]
    assert t.w.composer.attachments() == []
    mime, data = t.w.server.resolve(host_for(t.w.artifact_id), "/data/sales.csv")
    assert data == csv.read_bytes()
    assert "csv" in mime
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    page = shown_page(qtbot, t.w)
    qtbot.waitUntil(lambda: run_js(qtbot, page, "return document.title") != "loading", timeout=5000)
    assert run_js(qtbot, page, "return document.title") == "rows:4"
    assert "feb,12" in run_js(qtbot, page, "return document.getElementById('out').textContent")


# -- export, copy, shortcuts, window state -----------------------------------------------------


@needs_corpus
def test_export_through_the_dialog_writes_a_file_the_checker_passes(qtbot, make_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from studio.web.checker import check_file, exit_code

    t = make_window([corpus_answer("01")], chunk_chars=64)
    t.send(qtbot, "jokes")
    qtbot.waitUntil(lambda: bool(t.renders(final=True)), timeout=15000)
    qtbot.keyClick(t.w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = t.w.findChild(QFileDialog, "exportDialog")
    assert dialog is not None and dialog.isVisible()
    assert dialog.selectedFiles()[0].endswith("Random-Joke-Generator.html")
    out = tmp_path / "export" / "jokes.html"
    out.parent.mkdir()
    dialog.selectFile(str(out))
    dialog.accept()
    assert out.is_file()
    text = out.read_text()
    assert "Random Joke Generator" in text
    report = check_file(out)
    assert exit_code(report) == 0, report
    assert report["loaded"] and not report["blank"]


@needs_corpus
def test_copy_source_puts_the_artifact_on_the_clipboard(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window([corpus_answer("01")], chunk_chars=64)
    t.send(qtbot, "jokes")
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(t.w, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    copied = QGuiApplication.clipboard().text()
    assert copied == t.w.session.current_version().artifact.source
    assert "<title>Random Joke Generator</title>" in copied


def test_new_chat_and_focus_shortcuts(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window(["an answer"])
    t.send(qtbot, "hello")
    old_id = t.w.conversation.id
    t.w.pane.setFocus()
    qtbot.keyClick(t.w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert composer_has_focus(t.w)
    qtbot.keyClick(t.w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert t.w.conversation.id != old_id
    assert len(t.w.conversation) == 0
    assert t.w.pane.current_html() is None


def test_window_geometry_and_splitter_are_remembered(qtbot, make_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "state.ini"
    t = make_window(["x"], settings=QSettings(str(path), QSettings.Format.IniFormat))
    t.w.resize(760, 520)  # inside the offscreen screen (800x600): restoreGeometry clamps to it
    t.w.splitter.setSizes([300, 440])
    sizes = t.w.splitter.sizes()
    t.w.close()
    assert path.is_file()
    t2 = make_window(["x"], settings=QSettings(str(path), QSettings.Format.IniFormat))
    assert (t2.w.width(), t2.w.height()) == (760, 520)
    assert t2.w.splitter.sizes() == sizes


def test_default_settings_live_under_the_test_config_dir(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    from studio.store.paths import window_state_path

    assert str(window_state_path()).startswith(os.environ["XDG_CONFIG_HOME"])


# -- the application entry point ---------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--model", "/nonexistent/model-folder", "--engine", "mlx"]])
def test_the_app_opens_its_window_and_quits_cleanly(extra: list[str]) -> None:
    env = dict(os.environ, STUDIO_MEASURE_STARTUP="1")
    cmd = [sys.executable, "-m", "studio", *extra, "--max-tokens", "64"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "STUDIO_SHOWN" in out.stdout
    assert "exposed=True" in out.stdout
    assert "Traceback" not in out.stderr
    assert "QThread: Destroyed while thread" not in out.stderr


def test_a_model_that_fails_to_load_is_reported_in_the_chat(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window(["unused"])
    with qtbot.waitSignal(t.w.controller.loadFailed, timeout=5000):
        t.w.controller.load("missing/model")
    assert "no model folder at missing/model" in t.w.chat.plain_text()
    assert t.w.status.model_label.text() == "Model not loaded"


def test_new_chat_while_streaming_stops_the_answer_and_starts_clean(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    t = make_window(["x" * 50_000, "second"], chunk_chars=4, delay=0.01)
    t.send(qtbot, "long", wait=False)
    qtbot.waitUntil(lambda: "xxxx" in t.w.chat.plain_text(), timeout=5000)
    with qtbot.waitSignal(t.w.controller.finished, timeout=3000):
        t.w.menu_actions.new.trigger()
    assert t.events[-1] == ("finished", "cancelled")
    assert len(t.w.conversation) == 0
    assert "xxxx" not in t.w.chat.plain_text()
    assert not t.w.busy
    t.send(qtbot, "again")
    assert [m.content for m in t.w.conversation.path()] == ["again", "second"]
    # The new conversation's prompt holds only its own turn.
    assert [m["role"] for m in t.engine.requests[-1]] == ["system", "user"]
