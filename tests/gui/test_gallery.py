"""The Gallery, Open as App and Save as App over a real library (SQLite in a temp folder), real
QtWebEngine. The library is filled through the store API; no model runs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QImage

from studio.store.library import Library
from studio.store.writer import LibraryWriter
from studio.ui.appwindow import AppWindow
from studio.ui.chatview import ChatView
from studio.ui.gallery import PIN, GalleryWindow
from studio.ui.mainwindow import MainWindow
from studio.ui.thumbnails import encode_thumbnail


def page(title: str, text: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1 id=t>{text}</h1></body></html>"


def thumb(color: str) -> tuple[bytes, int, int]:
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    for y in range(100, 200):  # two colours: one colour alone is refused as "not painted yet"
        for x in range(0, 320, 8):
            image.setPixelColor(x, y, QColor("white"))
    encoded = encode_thumbnail(image)
    assert encoded is not None
    return encoded


def fill(lib: Library) -> dict[str, str]:
    """Three conversations with an artifact each (oldest first); two have thumbnails."""
    ids = {}
    for chat, title, color in (
        ("Bouncing balls", "Balls", "#d00000"),
        ("A clock please", "Analog clock", None),
        ("Weather", "Rain chart", "#0000d0"),
    ):
        cid = lib.create_conversation(chat)
        lib.add_message(cid, "user", f"make {title}")
        v = lib.add_version(cid, kind="html", title=title, source=page(title, f"{title} body"))
        if color:
            lib.set_thumbnail(v.id, *thumb(color))
        ids[title] = cid
    return ids


@pytest.fixture
def library(tmp_path: Path) -> Iterator[tuple[Library, dict[str, str]]]:
    lib = Library(tmp_path / "library.db")
    ids = fill(lib)
    yield lib, ids
    lib.close()


@pytest.fixture
def gallery(qtbot, library) -> Iterator[tuple[GalleryWindow, Library, dict[str, str]]]:  # type: ignore[no-untyped-def]
    lib, ids = library
    writer = LibraryWriter(lib.path)
    g = GalleryWindow(writer)
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.show()
    yield g, lib, ids
    g.close()
    shiboken6.delete(g)
    writer.close()


def test_gallery_lists_every_artifact_with_its_thumbnail(qtbot, gallery) -> None:  # type: ignore[no-untyped-def]
    g, _lib, _ids = gallery
    assert g.titles() == ["Rain chart", "Analog clock", "Balls"]  # newest first
    assert g.count_label.text() == "3 artifacts"
    icons = [g.grid.item(i).icon().pixmap(g.grid.iconSize()).toImage() for i in range(3)]
    rain = icons[0].pixelColor(icons[0].width() // 2, 10)
    balls = icons[2].pixelColor(icons[2].width() // 2, 10)
    assert rain.blue() > 150 and rain.red() < 60 and balls.red() > 150 and balls.blue() < 60
    clock = icons[1].pixelColor(icons[1].width() // 2, 10)  # no thumbnail: the plain placeholder tile
    assert clock.name() == "#e6e8eb"


def test_gallery_searches_and_shows_what_to_do_when_nothing_matches(qtbot, gallery) -> None:  # type: ignore[no-untyped-def]
    g, _lib, _ids = gallery
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.search.setText("clock")
    assert g.titles() == ["Analog clock"]
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.search.setText("bouncing")  # the conversation's title counts too
    assert g.titles() == ["Balls"]
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.search.setText("zebra")
    assert g.titles() == [] and g.stack.currentWidget() is g.empty and "zebra" in g.empty.text()
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.search.clear()
    assert len(g.titles()) == 3 and g.stack.currentWidget() is g.grid


def test_gallery_pins_to_the_front_and_keeps_the_pin(qtbot, gallery) -> None:  # type: ignore[no-untyped-def]
    g, lib, ids = gallery
    assert g.select(ids["Balls"]) and g.pin_button.text() == "Pin"
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.pin_button.click()
    assert g.titles() == [PIN + "Balls", "Rain chart", "Analog clock"]
    assert g.selected() is not None and g.selected().artifact_id == ids["Balls"]  # type: ignore[union-attr]
    assert g.pin_button.text() == "Unpin"
    assert lib.gallery()[0].artifact_id == ids["Balls"] and lib.gallery()[0].pinned  # in the library
    with qtbot.waitSignal(g.loaded, timeout=20000):
        g.pin_button.click()
    assert g.titles() == ["Rain chart", "Analog clock", "Balls"]


def test_gallery_asks_to_open_the_conversation_or_the_app(qtbot, gallery) -> None:  # type: ignore[no-untyped-def]
    g, _lib, ids = gallery
    g.select(ids["Analog clock"])
    with qtbot.waitSignal(g.conversationRequested, timeout=5000) as opened:
        qtbot.keyClick(g.grid, Qt.Key.Key_Return)
    assert opened.args == [ids["Analog clock"]]
    with qtbot.waitSignal(g.appRequested, timeout=5000) as app:
        g.app_button.click()
    assert app.args == [ids["Analog clock"]]


# -- in the main window ---------------------------------------------------------------------------


def run_js(qtbot, page, script: str):  # type: ignore[no-untyped-def]
    box: list[object] = []
    page.runJavaScript(f"JSON.stringify((() => {{ {script} }})())", 0, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    return json.loads(box[0]) if isinstance(box[0], str) and box[0] else box[0]


@pytest.fixture
def window(
    qtbot, artifact_server, artifact_profile, library, tmp_path: Path
) -> Iterator[Callable[[], MainWindow]]:  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []
    lib, _ids = library

    def make() -> MainWindow:
        w = MainWindow(
            artifact_server,
            artifact_profile,
            None,
            settings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
            system_prompt="SYSTEM",
            native_dialogs=False,
            library=lib,
            settings_file=tmp_path / "settings.json",
        )
        made.append(w)
        w.resize(1200, 800)
        w.show()
        qtbot.waitExposed(w)
        return w

    yield make
    for w in made:
        if shiboken6.isValid(w):
            w.close()
            shiboken6.delete(w)


def test_file_gallery_opens_a_conversation_in_the_main_window(qtbot, window, library) -> None:  # type: ignore[no-untyped-def]
    _lib, ids = library
    w = window()
    assert w.conversation.id == ids["Rain chart"]  # the most recent opens first
    assert w.menu_actions.gallery is not None
    w.menu_actions.gallery.trigger()
    g = w.apps.gallery
    assert g is not None and g.isVisible()
    qtbot.waitUntil(lambda: len(g.titles()) == 3, timeout=20000)
    g.select(ids["Balls"])
    g.open_button.click()
    assert w.conversation.id == ids["Balls"]
    qtbot.waitUntil(lambda: not w.pane.is_rendering() and w.pane.current_html() is not None, timeout=20000)
    assert "Balls body" in (w.pane.current_html() or "")
    # The clock has no thumbnail yet: shown in the window, it gets one, and the open gallery shows it.
    g.select(ids["Analog clock"])
    assert g.selected() is not None and g.selected().thumbnail is None  # type: ignore[union-attr]
    assert w.thumbnails is not None
    with (
        qtbot.waitSignal(w.thumbnails.thumbnailSaved, timeout=30000),
        qtbot.waitSignal(g.loaded, timeout=30000),
    ):
        g.open_button.click()
    clock = next(it for it in g.items if it.artifact_id == ids["Analog clock"])
    assert clock.thumbnail is not None


def test_open_as_app_shows_the_artifact_alone_in_its_window(qtbot, window, library) -> None:  # type: ignore[no-untyped-def]
    _lib, ids = library
    w = window()
    g = w.apps.open_gallery()
    assert g is not None
    qtbot.waitUntil(lambda: len(g.titles()) == 3, timeout=20000)
    g.select(ids["Analog clock"])
    g.app_button.click()
    [app] = w.apps.app_windows
    assert isinstance(app, AppWindow) and app.isVisible() and "Analog clock" in app.windowTitle()
    qtbot.waitUntil(
        lambda: (
            run_js(qtbot, app.page, "return document.getElementById('t')?.textContent") == "Analog clock body"
        ),
        timeout=20000,
    )
    assert app.findChildren(ChatView) == []  # no chat: the artifact alone
    assert app.page.profile() is w.pane_profile  # the same sandboxed profile as the pane
    # File > Open as App opens what the main window shows (the most recent: Rain chart).
    assert w.menu_actions.open_app is not None
    w.menu_actions.open_app.trigger()
    second = w.apps.app_windows[-1]
    qtbot.waitUntil(
        lambda: run_js(qtbot, second.page, "return document.title") == "Rain chart", timeout=20000
    )
    app.close()
    qtbot.waitUntil(lambda: not shiboken6.isValid(app), timeout=10000)  # deleted on close


def test_save_as_app_writes_a_launcher_for_the_artifact_on_screen(qtbot, window, library) -> None:  # type: ignore[no-untyped-def]
    lib, ids = library
    w = window()
    path = w.apps.save_as_app()
    assert path is not None and path.parent == Path(os.environ["XDG_DATA_HOME"]) / "applications"
    text = path.read_text(encoding="utf-8")
    assert "Name=Rain chart\n" in text
    assert f" open {ids['Rain chart']}\n" in text and f"--data-dir {lib.path.parent}" in text
    assert "Saved “Rain chart” as an app" in w.status.stats_label.text()
