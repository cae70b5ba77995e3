"""Thumbnails: a version's final render is grabbed once it settles, encoded off the GUI thread and stored;
the version bar shows them. A real library in a temp folder, the scripted engine, real QtWebEngine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings

from studio.engine.base import GenerationParams
from studio.store.library import Library
from studio.ui import thumbnails
from studio.ui.generation import GenerationController
from studio.ui.mainwindow import MainWindow
from studio.ui.thumbnails import decode_thumbnail
from tests.gui.scripted import ScriptedEngine


def stripes(title: str, a: str, b: str) -> str:
    """An answer whose page is two bands of colour (a thumbnail of one colour would be refused)."""
    return (
        f"Here.\n\n```html\n<!DOCTYPE html>\n<html><head><title>{title}</title><style>"
        f"html,body{{margin:0;height:100%}} .a{{height:50vh;background:{a}}} .b{{height:50vh;background:{b}}}"
        "</style></head><body><div class=a></div><div class=b></div></body></html>\n```\n"
    )


@pytest.fixture
def window(qtbot, artifact_server, artifact_profile, tmp_path: Path) -> Iterator[Callable[..., MainWindow]]:  # type: ignore[no-untyped-def]
    made: list[tuple[MainWindow, Library]] = []

    def make(answers: list[str]) -> MainWindow:
        lib = Library(tmp_path / "library.db")
        w = MainWindow(
            artifact_server,
            artifact_profile,
            GenerationController(ScriptedEngine(answers, chunk_chars=64, delay=0.001)),
            params=GenerationParams(max_tokens=100_000),
            settings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
            system_prompt="SYSTEM",
            native_dialogs=False,
            library=lib,
        )
        made.append((w, lib))
        w.resize(1200, 800)
        w.show()
        qtbot.waitExposed(w)
        return w

    yield make
    for w, lib in made:
        if shiboken6.isValid(w):
            w.close()
            shiboken6.delete(w)
        lib.close()


def test_thumbnail_is_stored_after_the_final_render_and_shown_on_the_version_bar(
    qtbot, window, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    threads: list[str] = []
    real_encode = thumbnails.encode_thumbnail

    def encode(image, *args):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real_encode(image, *args)

    monkeypatch.setattr(thumbnails, "encode_thumbnail", encode)
    w = window(
        [stripes("Red", "rgb(220,0,0)", "rgb(0,0,220)"), stripes("Green", "rgb(0,180,0)", "rgb(250,250,0)")]
    )
    taker = w.thumbnails
    assert taker is not None and w.store is not None
    lib = w.store.library
    with qtbot.waitSignal(taker.thumbnailSaved, timeout=60000) as saved:
        w.send("red and blue", [])
    aid, vid, number = saved.args
    assert (aid, number) == (w.artifact_id, 1) and lib.version(aid, 1).id == vid
    assert threads == ["studio-store-writer"]  # encoded off the GUI thread, on the store's writer
    image = decode_thumbnail(lib.thumbnail(vid) or b"")
    assert (
        not image.isNull()
        and image.width() <= thumbnails.THUMB_WIDTH
        and image.height() <= thumbnails.THUMB_HEIGHT
    )
    top, bottom = (
        image.pixelColor(image.width() // 2, 2),
        image.pixelColor(image.width() // 2, image.height() - 3),
    )
    assert top.red() > 150 and top.blue() < 80, top.name()  # what was on screen: red over blue
    assert bottom.blue() > 150 and bottom.red() < 80, bottom.name()
    qtbot.waitUntil(lambda: w.pane.version_bar.thumbnail_numbers() == [1], timeout=30000)

    with qtbot.waitSignal(taker.thumbnailSaved, timeout=60000) as saved:
        w.send("green and yellow", [])
    assert saved.args[2] == 2
    qtbot.waitUntil(lambda: w.pane.version_bar.thumbnail_numbers() == [1, 2], timeout=30000)
    assert sorted(lib.thumbnails(aid)) == [1, 2]

    # Going back to v1 neither grabs it again nor loses the strip; a thumbnail click shows that version.
    bar = w.pane.version_bar
    [first] = [b for b in bar.thumb_buttons if b.property("number") == 1]
    first.click()
    qtbot.waitUntil(lambda: bar.number == 1 and not w.pane.is_rendering(), timeout=30000)
    qtbot.waitUntil(lambda: not taker._timer.isActive(), timeout=10000)
    assert taker.capture() is False and threads == ["studio-store-writer"] * 2
    assert bar.thumbnail_numbers() == [1, 2]
