"""Opening files with the app: command-line paths and QFileOpenEvent start a new chat; an .html
file shows in the preview (checked on the page on screen), other files are attached."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QSettings, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from studio import __version__, fileopen
from studio.ui.mainwindow import MainWindow
from studio.web.preview import SandboxView

PAGE = """<!doctype html><html><head><title>Exported</title></head>
<body><div id="opened">exported artifact</div>
<script>document.getElementById('opened').dataset.ran = 'yes';</script></body></html>"""


@pytest.fixture
def window(qtbot, artifact_server, artifact_profile, tmp_path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    w = MainWindow(
        artifact_server,
        artifact_profile,
        None,
        settings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
        system_prompt="SYSTEM",
        native_dialogs=False,
    )
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    if shiboken6.isValid(w):
        shiboken6.delete(w)


def page_js(qtbot, w: MainWindow, script: str) -> object:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: w.pane.current_html() is not None and not w.pane.is_rendering(), timeout=15000)
    (view,) = [v for v in w.pane.findChildren(SandboxView) if v.isVisible()]
    box: list[object] = []
    view.page().runJavaScript(f"JSON.stringify((() => {{ {script} }})())", 0, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    return json.loads(box[0]) if isinstance(box[0], str) and box[0] else box[0]


def notices(w: MainWindow) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for label in w.chat.findChildren(QLabel))


def test_classify_sorts_pages_attachments_and_missing(tmp_path: Path) -> None:
    page = tmp_path / "a.HTML"
    page.write_text(PAGE)
    data = tmp_path / "b.csv"
    data.write_text("x,y\n1,2\n")
    req = fileopen.classify([page, data.as_uri(), tmp_path / "nope.txt", tmp_path])
    assert req.pages == [page.resolve()]
    assert req.attachments == [data.resolve()]
    assert req.missing == [str(tmp_path / "nope.txt"), str(tmp_path)]


def test_an_opened_html_file_shows_in_the_preview_of_a_new_chat(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    before = window.conversation.id
    page = tmp_path / "bar chart.html"
    page.write_text(PAGE, encoding="utf-8")
    req = fileopen.open_paths(window, [str(page)])
    assert req.pages == [page.resolve()]
    assert window.conversation.id != before
    assert page_js(
        qtbot, window, "const d = document.getElementById('opened'); return [d.textContent, d.dataset.ran];"
    ) == [
        "exported artifact",
        "yes",
    ]
    assert "Opened bar chart.html in the preview." in notices(window)


def test_other_files_are_attached_to_the_new_chat(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "sales.csv"
    csv.write_text("month,total\njan,3\nfeb,5\n")
    note = tmp_path / "notes.txt"
    note.write_text("make it blue")
    fileopen.open_paths(window, [str(csv), str(note), str(tmp_path / "gone.json")])
    assert [a.name for a in window.composer.attachments()] == ["sales.csv", "notes.txt"]
    assert "gone.json: not a file" in notices(window)


def test_file_open_events_wait_for_the_window_then_make_one_chat(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "a.txt", tmp_path / "b.json"
    a.write_text("hello")
    b.write_text('{"k": 1}')
    opener = fileopen.FileOpener()
    try:
        assert opener.handle(QFileOpenEvent(str(a)))  # macOS: before the window exists
        assert not opener.handle(QEvent(QEvent.Type.Show))
        assert opener.pending == [str(a)]
        opener.set_window(window)
        assert opener.handle(QFileOpenEvent(QUrl.fromLocalFile(str(b))))
        qtbot.waitUntil(lambda: len(window.composer.attachments()) == 2, timeout=5000)
        assert [x.name for x in window.composer.attachments()] == ["a.txt", "b.json"]
        assert opener.pending == []
    finally:
        shiboken6.delete(opener)


def test_install_opens_command_line_paths_after_the_event_loop_starts(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "export.htm"
    page.write_text(PAGE)
    opener = fileopen.install(QApplication.instance(), window, [str(page)])
    try:
        assert opener.pending == [str(page)]  # nothing opens before the event loop runs
        assert page_js(qtbot, window, "return document.title;") == "Exported"
        assert opener.pending == []
    finally:
        shiboken6.delete(opener)


def test_help_about_shows_name_version_and_icon(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert window.menu_actions.about.text().replace("&", "") == "About Artifacts Studio"
    box = window.show_about()
    try:
        assert box.isVisible()
        assert "Artifacts Studio" in box.text() and f"Version {__version__}" in box.text()
        pix = box.iconPixmap()
        assert not pix.isNull() and pix.width() >= 64
        # The icon is the drawn one: the tile's corner is transparent, its middle is not.
        img = pix.toImage()
        assert img.pixelColor(0, 0).alpha() == 0
        assert img.pixelColor(img.width() // 2, img.height() // 2).alpha() == 255
    finally:
        box.close()
        shiboken6.delete(box)


def test_startup_failure_with_a_window_possible_is_shown_in_a_message_box(
    qtbot, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer

    from studio import startuplog
    from studio.store import paths

    monkeypatch.setenv(paths.ENV_LOG_DIR, str(tmp_path / "logs"))
    seen: list[str] = []

    def dismiss() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, dismiss)
            return
        seen.append(f"{box.objectName()}|{box.text()}")  # type: ignore[attr-defined]
        box.close()

    QTimer.singleShot(20, dismiss)

    def broken() -> int:
        raise OSError("QtWebEngineProcess not found")

    assert startuplog.run_guarded(broken) == startuplog.EXIT_STARTUP_FAILED
    (text,) = seen
    assert text.startswith("startupFailure|Artifacts Studio could not start: QtWebEngineProcess not found")
    assert str(tmp_path / "logs" / startuplog.LOG_NAME) in text
