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
    """An answer whose page is two columns of colour (a thumbnail of one colour would be refused)."""
    return (
        f"Here.\n\n```html\n<!DOCTYPE html>\n<html><head><title>{title}</title><style>"
        f"html,body{{margin:0;height:100%}} body{{display:flex}} .a{{flex:1;background:{a}}} .b{{flex:1;background:{b}}}"
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
    mid = image.height() // 2
    left, right = image.pixelColor(3, mid), image.pixelColor(image.width() - 4, mid)
    assert left.red() > 150 and left.blue() < 80, left.name()  # what was on screen: red beside blue
    assert right.blue() > 150 and right.red() < 80, right.name()
    ratio = image.width() / image.height()  # cropped to the thumbnail's shape, not squeezed
    assert abs(ratio - thumbnails.THUMB_WIDTH / thumbnails.THUMB_HEIGHT) < 0.05, ratio
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


def test_encode_refuses_blank_grabs_and_crops_tall_ones_to_their_top() -> None:
    from PySide6.QtGui import QColor, QImage

    assert thumbnails.encode_thumbnail(QImage()) is None
    white = QImage(400, 900, QImage.Format.Format_RGB32)
    white.fill(QColor("white"))
    assert thumbnails.encode_thumbnail(white) is None  # not painted yet: no thumbnail rather than a blank one
    tall = white.copy()
    for y in range(0, 250):  # a red header at the top of a tall page
        for x in range(0, 400, 2):
            tall.setPixelColor(x, y, QColor("red"))
    encoded = thumbnails.encode_thumbnail(tall)
    assert encoded is not None
    png, width, height = encoded
    image = thumbnails.decode_thumbnail(png)
    assert (image.width(), image.height()) == (width, height) == (320, 200)  # the top 400x250, scaled
    assert image.pixelColor(160, 190).red() > 100  # the header fills the thumbnail down to its bottom
    assert thumbnails.decode_thumbnail(b"not a png").isNull()


def test_a_page_that_paints_late_is_grabbed_again_not_stored_blank(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    late = (
        "Here.\n\n```html\n<!DOCTYPE html>\n<html><head><title>Late</title><style>html,body{margin:0;height:100%}"
        "</style></head><body><script>setTimeout(() => { document.body.style.background ="
        " 'linear-gradient(90deg, rgb(220,0,0) 50%, rgb(0,0,220) 50%)'; }, 1000);</script></body></html>\n```\n"
    )
    w = window([late])
    assert w.thumbnails is not None and w.store is not None
    with qtbot.waitSignal(w.thumbnails.thumbnailSaved, timeout=60000) as saved:
        w.send("paint late", [])
    image = decode_thumbnail(w.store.library.thumbnail(saved.args[1]) or b"")
    left = image.pixelColor(3, image.height() // 2)
    assert left.red() > 150 and left.blue() < 80, left.name()  # the painted page, not the white one before
