"""The window over a real library (SQLite in a temp folder): persistence, reopening, branches,
versions (previous / next, restore, diff), edit-and-run with the edit as the next turn's context,
interrupted answers, and the settings dialog. The engine is the scripted one (UI tests only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt

from studio.engine.base import GenerationParams
from studio.store.library import Library
from studio.store.settings import Settings, load_settings
from studio.ui.generation import GenerationController
from studio.ui.mainwindow import MainWindow
from studio.ui.settingsdialog import SettingsDialog
from tests.gui.scripted import ScriptedEngine


def page(title: str, body: str = "hello", color: str = "red") -> str:
    """A model answer holding one small HTML document."""
    return (
        f"Here you go.\n\n```html\n<!DOCTYPE html>\n<html>\n<head>\n<title>{title}</title>\n"
        f"<style>body {{ color: {color}; }}</style>\n</head>\n<body>\n<p>{body}</p>\n</body>\n</html>\n```\n"
    )


class LWin:
    def __init__(self, window: MainWindow, engine: ScriptedEngine | None, lib: Library) -> None:
        self.w = window
        self.engine = engine
        self.lib = lib

    def send(self, qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
        assert self.w.controller is not None
        with qtbot.waitSignal(self.w.controller.finished, timeout=30000):
            self.w.send(text, [])
        qtbot.waitUntil(lambda: not self.w.pane.is_rendering(), timeout=15000)


@pytest.fixture
def make_lwin(qtbot, artifact_server, artifact_profile, tmp_path) -> Iterator[Callable[..., LWin]]:  # type: ignore[no-untyped-def]
    made: list[tuple[MainWindow, Library]] = []

    def make(answers=None, *, db: Path | None = None, **kwargs) -> LWin:  # type: ignore[no-untyped-def]
        engine = ScriptedEngine(answers, chunk_chars=32, delay=0.001) if answers is not None else None
        controller = GenerationController(engine) if engine is not None else None
        lib = Library(db or tmp_path / "library.db")
        window = MainWindow(
            artifact_server,
            artifact_profile,
            controller,
            params=GenerationParams(max_tokens=100_000),
            settings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
            system_prompt="SYSTEM",
            native_dialogs=False,
            library=lib,
            **kwargs,
        )
        made.append((window, lib))
        window.show()
        qtbot.waitExposed(window)
        return LWin(window, engine, lib)

    yield make
    for window, lib in made:
        if shiboken6.isValid(window):
            window.close()
            shiboken6.delete(window)
        lib.close()


def close(lw: LWin) -> None:
    lw.w.close()
    shiboken6.delete(lw.w)


# -- persistence ---------------------------------------------------------------------------------


def test_answers_are_stored_and_a_reopened_window_shows_the_same_conversation(
    qtbot, make_lwin, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("Red Page")])
    t.send(qtbot, "Make a red page\nwith a greeting")
    cid = t.w.conversation.id
    assert t.w.pane.version_bar.text() == "v1 of 1"
    assert t.w.sidebar is not None and t.w.sidebar.titles() == ["Make a red page"]
    path = [(m.role, m.content) for m in t.w.conversation.path()]
    close(t)

    stored = t.lib.load(cid)
    assert [(m.role, m.content) for m in stored.path()] == path
    assert stored.path()[-1].state == "done" and stored.path()[-1].finish_reason == "stop"
    (v,) = t.lib.versions(cid)
    assert v.origin == "model" and v.message_id == stored.path()[-1].id and "<title>Red Page" in v.source

    again = make_lwin(None)  # same library file: the newest conversation comes back
    assert again.w.conversation.id == cid
    assert [(m.role, m.content) for m in again.w.conversation.path()] == path
    qtbot.waitUntil(lambda: not again.w.pane.is_rendering(), timeout=15000)
    assert "<title>Red Page</title>" in (again.w.pane.current_html() or "")
    assert again.w.pane.version_bar.text() == "v1 of 1"
    assert again.w.sidebar is not None and again.w.sidebar.ids() == [cid]


def test_console_output_of_a_version_is_stored(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    answer = page("Logs").replace("<p>hello</p>", "<p>hi</p><script>console.error('boom here')</script>")
    t = make_lwin([answer])
    t.send(qtbot, "log something")
    cid = t.w.conversation.id
    qtbot.waitUntil(
        lambda: any("boom here" in e.get("message", "") for e in t.lib.versions(cid)[0].console),
        timeout=10000,
    )


def test_an_answer_cut_off_by_a_crash_shows_as_interrupted(qtbot, make_lwin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "crashed.db"
    with Library(db) as lib:
        cid = lib.create_conversation()
        lib.add_message(cid, "user", "a clock please")
        msg = lib.add_message(cid, "assistant", "Here is a clo", state="streaming")
        # The process that was writing it is gone (a pid that cannot exist).
        lib.conn.execute(
            "UPDATE messages SET writer = 'otherhost:999999999', updated = 0 WHERE id = ?", (msg.id,)
        )
    t = make_lwin(None, db=db)
    assert t.lib.interrupted_on_open == 1
    assert t.w.conversation.id == cid
    widget = t.w.chat.message(msg.id)
    assert widget is not None and "interrupted" in widget.status.text()
    assert "Here is a clo" in t.w.chat.plain_text()
    assert t.lib.summary(cid).interrupted


# -- branches ------------------------------------------------------------------------------------


def test_branch_switch_shows_the_other_answer_and_is_remembered(qtbot, make_lwin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("First", "one"), page("Second", "two")])
    t.send(qtbot, "a page")
    first = t.w.conversation.path()[-1]
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        qtbot.keyClick(t.w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    second = t.w.conversation.path()[-1]
    switch = t.w.chat.branch_switch(second.id)
    assert switch is not None and switch.text() == "< 2/2 >"
    assert not switch.next_button.isEnabled()
    qtbot.mouseClick(switch.prev_button, Qt.MouseButton.LeftButton)
    assert t.w.conversation.path()[-1].id == first.id
    assert "\nFirst\n" in t.w.chat.plain_text() and "Second" not in t.w.chat.plain_text()
    assert t.w.chat.branch_switch(first.id).text() == "< 1/2 >"
    qtbot.waitUntil(lambda: "<title>First</title>" in (t.w.pane.current_html() or ""), timeout=15000)
    assert t.w.pane.version_bar.text() == "v1 of 2"
    cid = t.w.conversation.id
    close(t)
    assert t.lib.load(cid).current_id == first.id
    again = make_lwin(None)
    assert again.w.conversation.path()[-1].id == first.id
    assert again.w.chat.branch_switch(first.id).text() == "< 1/2 >"


# -- versions ------------------------------------------------------------------------------------


def test_previous_next_restore_and_diff(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("Balls", "small balls", "red"), page("Balls", "big balls", "blue")])
    t.send(qtbot, "balls")
    t.send(qtbot, "bigger and blue")
    bar = t.w.pane.version_bar
    assert bar.text() == "v2 of 2"
    assert not bar.next_button.isEnabled() and not bar.restore_button.isEnabled()
    qtbot.mouseClick(bar.prev_button, Qt.MouseButton.LeftButton)
    assert bar.text() == "v1 of 2"
    qtbot.waitUntil(lambda: "small balls" in (t.w.pane.current_html() or ""), timeout=15000)
    assert "small balls" in t.w.pane.source_text()
    cid = t.w.conversation.id
    assert t.lib.current_version(cid).number == 1

    # The Diff tab compares the shown version with the one before; any pair can be picked.
    diff = t.w.pane.diff_view
    diff.compare(1, 2)
    text = diff.plain_text()
    assert "-<p>small balls</p>" in text and "+<p>big balls</p>" in text
    assert "-<style>body { color: red; }</style>" in text
    assert diff.summary.text() == "+2 −2"
    assert "#e6ffec" in diff.browser.toHtml() and "#ffebe9" in diff.browser.toHtml()  # green / red lines

    qtbot.mouseClick(bar.restore_button, Qt.MouseButton.LeftButton)
    assert bar.text() == "v3 of 3"
    v3 = t.lib.version(cid, 3)
    assert v3.origin == "restore" and v3.based_on == 1 and v3.source == t.lib.version(cid, 1).source
    qtbot.waitUntil(lambda: "small balls" in (t.w.pane.current_html() or ""), timeout=15000)
    # Nothing is ever overwritten.
    assert [v.origin for v in t.lib.versions(cid)] == ["model", "model", "restore"]


def test_edit_and_run_adds_a_version_that_the_next_turn_gets_as_context(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("Balls", "small balls"), page("Balls", "bigger balls")])
    t.send(qtbot, "balls")
    cid = t.w.conversation.id
    t.w.pane.tabs.setCurrentWidget(t.w.pane.source_panel)
    editor = t.w.pane.source_panel.editor
    assert "small balls" in editor.toPlainText()
    cursor = editor.document().find("small balls")
    cursor.insertText("green balls")
    assert t.w.pane.source_panel.is_modified()
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert t.w.pane.version_bar.text() == "v2 of 2"
    v2 = t.lib.version(cid, 2)
    assert v2.origin == "edit" and v2.based_on == 1 and "green balls" in v2.source
    qtbot.waitUntil(lambda: "green balls" in (t.w.pane.current_html() or ""), timeout=15000)
    assert not t.w.pane.source_panel.is_modified()

    t.send(qtbot, "make the balls bigger")
    last_user = t.engine.requests[-1][-1]
    assert last_user["role"] == "user"
    assert last_user["content"].startswith(
        "The current version of the artifact (edited by the user):\n```html\n"
    )
    assert "green balls" in last_user["content"]
    assert last_user["content"].endswith("make the balls bigger")
    # The stored turn is what the user typed; the context only goes to the engine.
    assert t.lib.load(cid).path()[-2].content == "make the balls bigger"
    assert [v.origin for v in t.lib.versions(cid)] == ["model", "edit", "model"]
    # The model answered the edit: no context is added again.
    t.engine.answers.append(page("Balls", "again"))
    t.send(qtbot, "thanks")
    assert t.engine.requests[-1][-1]["content"] == "thanks"


def test_source_editor_search_and_line_numbers(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("Find", "needle in the page")])
    t.send(qtbot, "a page")
    panel = t.w.pane.source_panel
    t.w.pane.tabs.setCurrentWidget(panel)
    panel.editor.setFocus()
    qtbot.keyClick(panel.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.find_bar.isVisible()
    qtbot.keyClicks(panel.find_edit, "needle")
    assert panel.editor.textCursor().selectedText() == "needle"
    panel.find_edit.setText("no such text")
    assert panel.find_status.text() == "Not found"
    assert panel.editor.gutter_width() > 0
    # The highlighter coloured the tags (some formats in the first block).
    block = panel.editor.document().firstBlock()
    assert block.layout().formats()


# -- sidebar -------------------------------------------------------------------------------------


def _fill(lib: Library, titles: list[str]) -> list[str]:
    ids = []
    for title in titles:
        cid = lib.create_conversation()
        lib.add_message(cid, "user", title)
        lib.add_message(cid, "assistant", f"answer about {title.lower()}")
        ids.append(cid)
        time.sleep(0.002)
    return ids


def test_sidebar_lists_searches_renames_deletes_and_undoes(qtbot, make_lwin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "many.db"
    with Library(db) as lib:
        ids = _fill(lib, ["Bouncing balls", "Sales chart", "Weather clock"])
    t = make_lwin(None, db=db)
    sb = t.w.sidebar
    assert sb is not None
    assert sb.ids() == ids[::-1]  # newest first
    assert t.w.conversation.id == ids[-1]  # the newest is open

    qtbot.keyClicks(sb.search_box, "sal")
    qtbot.waitUntil(lambda: sb.ids() == [ids[1]], timeout=3000)
    sb.search_box.setText("answer clock")  # message text is searched too
    qtbot.waitUntil(lambda: sb.ids() == [ids[2]], timeout=3000)
    sb.search_box.clear()
    qtbot.waitUntil(lambda: len(sb.ids()) == 3, timeout=3000)

    # Picking one opens it.
    item = sb.list.item(sb.ids().index(ids[0]))
    sb.list.itemClicked.emit(item)
    assert t.w.conversation.id == ids[0]
    assert "answer about bouncing balls" in t.w.chat.plain_text()

    sb.rename(ids[0], "Balls v2")
    assert t.lib.summary(ids[0]).title == "Balls v2"
    assert "Balls v2" in sb.titles()

    sb.delete(ids[0])  # the open one: the window goes to a new chat
    assert ids[0] not in sb.ids()
    assert sb.undo_bar.isVisible()
    assert t.w.conversation.id != ids[0] and len(t.w.conversation) == 0
    qtbot.mouseClick(sb.undo_button, Qt.MouseButton.LeftButton)
    assert ids[0] in sb.ids() and not sb.undo_bar.isVisible()
    assert t.lib.summary(ids[0]).title == "Balls v2"


def test_new_chat_is_stored_at_its_first_message_with_a_title(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin(["just text", "more text"])
    t.send(qtbot, "## First *question* here")
    first = t.w.conversation.id
    qtbot.keyClick(t.w, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert t.w.conversation.id != first and len(t.w.sidebar.ids()) == 1  # empty chats are not stored
    t.send(qtbot, "second one")
    assert t.w.sidebar.titles() == ["second one", "First question here"]


# -- settings ------------------------------------------------------------------------------------


def test_settings_dialog_round_trip_and_flags_still_win(qtbot, make_lwin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "settings.json"
    t = make_lwin(
        ["ok"],
        app_settings=Settings(temperature=0.3, extra={"future_key": 1}),
        settings_file=path,
        overridden={"max_tokens": 77},
    )
    dialog = t.w.open_settings_dialog()
    assert isinstance(dialog, SettingsDialog)
    dialog.model.setText("/models/qwen")
    dialog.temperature.setValue(0.7)
    dialog.max_tokens.setValue(2048)
    dialog.system_prompt.setPlainText("Be brief.")
    dialog.allow_network.setChecked(True)
    dialog.auto_fix.setValue(3)
    dialog.accept()
    saved = load_settings(path)
    assert saved == Settings(
        model="/models/qwen",
        temperature=0.7,
        max_tokens=2048,
        system_prompt="Be brief.",
        allow_network=True,
        auto_fix=3,
    )
    assert t.w.autofix.auto_fixes == 3
    assert saved.extra == {"future_key": 1}
    assert t.w.turns.params.temperature == 0.7
    assert t.w.turns.params.max_tokens == 77  # the command-line flag of this session
    assert t.w.turns.system_prompt == "Be brief."
    again = SettingsDialog(saved, path)
    assert again.value() == saved
    again.deleteLater()


def test_regenerate_asks_the_same_question_without_the_replaced_version_as_context(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("One"), page("Two"), page("Three")])
    t.send(qtbot, "a page")
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        t.w.turns.regenerate()
    assert t.engine.requests[1] == t.engine.requests[0]
    # Going back to v1 (made by an answer on another branch) is not sent either.
    t.w.flow.show_version_number(1)
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        t.w.turns.regenerate()
    assert t.engine.requests[2] == t.engine.requests[0]


# -- the app: library folder, recovery, flags ---------------------------------------------------


def test_a_corrupt_library_is_moved_aside_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from studio.app import open_library

    (tmp_path / "library.db").write_bytes(b"this is not a database" * 100)
    lib, notices = open_library(str(tmp_path))
    assert lib is not None
    try:
        assert lib.list_conversations() == []
        ((text, level),) = notices
        assert level == "warning" and "could not be read" in text and "moved to" in text
        assert lib.recovery is not None and lib.recovery.moved_to.read_bytes().startswith(b"this is not")
    finally:
        lib.close()


def test_the_app_opens_a_data_dir_library_and_command_line_flags_win(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import argparse
    import os
    import subprocess
    import sys

    from studio.app import flag_overrides

    with Library(tmp_path / "library.db") as lib:
        _fill(lib, ["Kept conversation"])
    env = dict(os.environ, STUDIO_MEASURE_STARTUP="1")
    cmd = [sys.executable, "-m", "studio", "--data-dir", str(tmp_path), "--max-tokens", "64"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "STUDIO_SHOWN" in out.stdout and "Traceback" not in out.stderr
    assert "sidebar=1" in out.stdout  # the window listed the library of --data-dir
    args = argparse.Namespace(model=None, engine=None, max_tokens=64, temperature=None)
    assert flag_overrides(args) == {"max_tokens": 64}


KILLED_APP = r"""
import sys
from PySide6.QtCore import QSettings, QTimer
from studio.app import build_window, create_application
from studio.store.library import Library
from studio.ui.generation import GenerationController
from tests.gui.scripted import ScriptedEngine

db, ini = sys.argv[1], sys.argv[2]
app = create_application()
answer = "Here is a long page.\n\n```html\n" + "<p>line of the page</p>\n" * 4000 + "```\n"
controller = GenerationController(ScriptedEngine([answer], chunk_chars=24, delay=0.004))
window, profile = build_window(
    controller, library=Library(db), settings=QSettings(ini, QSettings.Format.IniFormat), native_dialogs=False
)
window.show()
window.send("make a long page", [])
QTimer(window, interval=50, timeout=lambda: print("CHARS", len(window.session.answer_text()), flush=True)).start()
app.exec()
"""


def test_a_window_killed_mid_answer_keeps_the_partial_answer_as_interrupted(
    qtbot, make_lwin, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "killed_app.py"
    script.write_text(KILLED_APP, encoding="utf-8")
    db = tmp_path / "killed.db"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(tmp_path / "w.ini")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    shown, started = 0, None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("CHARS"):
                shown = int(line.split()[1])
                started = started or (time.monotonic() if shown else None)
                if started and time.monotonic() - started >= 1.5:
                    break
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # kill -9, mid-stream
        proc.wait(30)
    assert shown > 0, "the answer never started streaming"
    t = make_lwin(None, db=db)
    assert t.lib.interrupted_on_open == 1
    user, answer = t.w.conversation.path()
    assert user.content == "make a long page"
    # Written at least every second: what was stored lags what was shown by well under a second.
    assert answer.content.startswith("Here is a long page.") and len(answer.content) > 0
    rate = shown / 1.5  # characters per second seen by the window
    assert len(answer.content) >= shown - rate * 1.0, (len(answer.content), shown)
    widget = t.w.chat.message(answer.id)
    assert widget is not None and "interrupted" in widget.status.text()
    assert t.lib.summary(t.w.conversation.id).interrupted


def test_an_automatic_fix_is_stored_as_an_autofix_version(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    broken = page("Broken").replace("<p>hello</p>", "<p>hello</p>\n<script>notDefinedAnywhere();</script>")
    t = make_lwin([broken, page("Fixed")], app_settings=Settings(auto_fix=1))
    t.send(qtbot, "a page")
    cid = t.w.conversation.id
    qtbot.waitUntil(lambda: len(t.lib.versions(cid)) == 2, timeout=30000)
    assert [v.origin for v in t.lib.versions(cid)] == ["model", "autofix"]
    assert "notDefinedAnywhere" in t.engine.requests[1][-1]["content"]  # the fix turn carried the error


def test_a_new_chat_is_listed_as_soon_as_it_is_sent(qtbot, make_lwin) -> None:  # type: ignore[no-untyped-def]
    t = make_lwin([page("Slow")])
    t.engine.delay = 0.05  # still streaming when we look
    t.w.send("a slow page", [])
    assert t.w.busy
    assert t.w.sidebar.titles() == ["a slow page"]
    assert t.w.sidebar.list.currentItem().text() == "a slow page"
    with qtbot.waitSignal(t.w.controller.finished, timeout=30000):
        t.w.stop()
