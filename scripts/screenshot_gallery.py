"""Screenshots of the Gallery and of an artifact opened as an app (not shipped).

Run under a real X server (Xvfb) so the web views are composed like on a desktop:

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/screenshot_gallery.py --out /tmp/shots

It fills a library in a temp folder with corpus answers (through the store API), opens each chat in
the real window so the app takes each thumbnail itself, pins one, then shoots the Gallery and the
app window of one artifact (``gallery.png``, ``app-window.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CASES = ("34", "30", "09", "35", "01", "26")  # the corpus answers that become the library
PINNED, APP = "35", "34"
MOVES = "[0, 4, 1, 8, 2].forEach(i => document.querySelectorAll('.cell')[i].click())"  # X wins the top row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "docs")
    p.add_argument("--width", type=int, default=900, help="the saved images' width (they are scaled down)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QWidget

    from studio.app import build_window, create_application, dispose
    from studio.core.extract import extract
    from studio.store.library import Library
    from tests.gui.scripted import CORPUS, corpus_answer

    app = create_application()
    from studio.ui import theme

    theme.install(app, "light")  # the look the app starts in (the README's shots are light)
    tmp = Path(tempfile.mkdtemp())
    library = Library(tmp / "library.db")
    ids: dict[str, str] = {}
    for case in CASES:
        prompt = json.loads(sorted(CORPUS.glob(f"{case}-*.json"))[0].read_text())["prompt"] or "Make it"
        answer = corpus_answer(case)
        artifact = extract(answer).artifact
        assert artifact is not None, case
        cid = library.create_conversation()
        library.add_message(cid, "user", prompt)
        msg = library.add_message(cid, "assistant", answer)
        library.add_version(
            cid, kind=artifact.kind, title=artifact.title, source=artifact.source, message_id=msg.id
        )
        ids[case] = cid
    library.set_pinned(ids[PINNED], True)
    first = library.current_version(ids[APP])
    assert first is not None
    library.add_version(
        ids[APP],
        kind=first.kind,
        title=first.title,
        source=first.source.replace("#f0f0f0", "#ffd54f"),
        origin="edit",
    )
    library.set_current_version(ids[APP], 1)  # v1 is shown (and grabbed) first, v2 at the end
    settings = QSettings(str(tmp / "w.ini"), QSettings.Format.IniFormat)
    window, profile = build_window(None, native_dialogs=False, settings=settings, library=library)
    window.setGeometry(0, 0, 1400, 880)
    window.show()
    queue = list(CASES)
    assert window.thumbnails is not None

    def shoot(widget: QWidget, name: str) -> None:
        app.processEvents()
        image = QGuiApplication.primaryScreen().grabWindow(widget.winId()).toImage()
        image = image.scaledToWidth(args.width, Qt.TransformationMode.SmoothTransformation)
        path = args.out / name
        image.save(str(path), "PNG", 0)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)", flush=True)

    step = {"n": 0, "shot": False}

    def next_chat(*_a: object) -> None:
        step["n"] += 1
        n = step["n"]
        if not queue and step.get("v2"):
            QTimer.singleShot(300, open_gallery)
            return
        if not queue:  # last: the second version of one artifact, for the version bar's strip
            step["v2"] = True
            window.open_conversation(ids[APP])
            window.flow.show_version_number(2)
            QTimer.singleShot(8000, lambda: next_chat() if step["n"] == n else None)
            return
        case = queue.pop(0)
        print(f"opening {case}", flush=True)
        window.open_conversation(ids[case])
        QTimer.singleShot(8000, lambda: next_chat() if step["n"] == n else None)  # no thumbnail came: go on

    def open_gallery() -> None:
        shoot(window, "main-window.png")
        gallery = window.apps.open_gallery()
        assert gallery is not None
        gallery.setGeometry(60, 40, 1000, 560)

        def loaded() -> None:
            if not step["shot"]:
                step["shot"] = True
                gallery.select(ids[PINNED])
                QTimer.singleShot(800, lambda: (shoot(gallery, "gallery.png"), open_app()))

        gallery.loaded.connect(loaded)

    def open_app() -> None:
        gallery = window.apps.gallery
        assert gallery is not None
        gallery.hide()
        app_window = window.apps.open_as_app(ids[APP])
        assert app_window is not None
        app_window.setGeometry(120, 80, 760, 560)

        def loaded(_ok: bool) -> None:
            app_window.page.runJavaScript(MOVES, 0, lambda _r: None)
            QTimer.singleShot(1500, lambda: (shoot(app_window, "app-window.png"), app.quit()))

        app_window.loaded.connect(loaded)

    window.thumbnails.thumbnailSaved.connect(next_chat)
    QTimer.singleShot(2000, lambda: next_chat() if step["n"] == 0 else None)
    QTimer.singleShot(120_000, app.quit)  # a safety net
    try:
        app.exec()
    finally:
        dispose(window, profile)
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
