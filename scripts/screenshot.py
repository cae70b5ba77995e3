"""Screenshots of the real window with the scripted engine replaying corpus answers (not shipped).

Run under a real X server (Xvfb) so the web views are composed like on a desktop:

    xvfb-run -a -s "-screen 0 1440x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/screenshot.py --out /tmp/shots

It shoots: the preview mid-stream, the final preview, the console strip with an error (a second
answer whose page throws), the Export HTML dialog and the two versions compared side by side.
``--theme dark`` (or light, system) shoots in that theme; the names then end in ``-dark``. The screen is grabbed through Qt
(QScreen.grabWindow(0): the whole X screen, web content included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EARLIER_CHATS = (
    "Chart of monthly sales from sales.csv",
    "Snake game with a high score",
    "Three-body gravity simulation",
)
sys.path.insert(0, str(REPO))

ERROR_ANSWER = """Here is the chart with the new data source:

```html
<!DOCTYPE html>
<html><head><title>Sales chart</title>
<style>body{font-family:sans-serif;margin:2rem;background:#fafafa} .bar{background:#4a7bd0;height:22px;margin:6px 0;color:white;padding-left:6px}</style>
</head><body>
<h1>Monthly sales</h1>
<div class="bar" style="width:40%">Jan</div>
<div class="bar" style="width:65%">Feb</div>
<script>
const rows = loadRows("sales.csv");   // loadRows is never defined: a runtime error
</script>
</body></html>
```

The bars show each month's total."""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "docs")
    p.add_argument("--case", default="34", help="corpus case to replay (default 34: tic-tac-toe)")
    p.add_argument("--size", default="1440x900")
    p.add_argument("--theme", default="light", choices=("light", "dark", "system"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QGuiApplication

    from studio.app import build_window, create_application, dispose
    from studio.store.library import Library
    from studio.ui.generation import GenerationController
    from studio.web.preview import SandboxView
    from tests.gui.scripted import CORPUS, ScriptedEngine, corpus_answer

    case = sorted(CORPUS.glob(f"{args.case}-*.json"))[0]
    prompt = json.loads(case.read_text())["prompt"]
    app = create_application()
    from studio.ui import theme

    theme.install(app, args.theme)
    suffix = "-dark" if args.theme == "dark" else ""
    engine = ScriptedEngine(
        [corpus_answer(args.case), ERROR_ANSWER], chunk_chars=5, delay=0.012, first_delay=0.25
    )
    controller = GenerationController(engine)
    controller.load("Qwen2.5-Coder-7B-Instruct-4bit")
    tmp = Path(tempfile.mkdtemp())
    settings = QSettings(str(tmp / "w.ini"), QSettings.Format.IniFormat)
    library = Library(tmp / "library.db")
    for title in EARLIER_CHATS:  # a library with some history, as a user would have
        cid = library.create_conversation(title)
        library.add_message(cid, "user", title)
    from studio.store.settings import Settings

    window, profile = build_window(
        controller,
        native_dialogs=False,
        settings=settings,
        library=library,
        app_settings=Settings(auto_fix=0),
    )
    window.new_chat()
    w, h = (int(v) for v in args.size.split("x"))
    window.setGeometry(0, 0, w, h)
    window.show()
    state = {"streaming": 0, "finals": 0}

    def shoot(name: str) -> None:
        app.processEvents()
        image = QGuiApplication.primaryScreen().grabWindow(0).toImage()
        path = args.out / name.replace(".png", f"{suffix}.png")
        image.save(str(path), "PNG", 0)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)", flush=True)

    def on_rendered(_aid: str, final: bool) -> None:
        if not final:
            state["streaming"] += 1
            if state["streaming"] == 4 and window.busy:
                QTimer.singleShot(50, lambda: shoot("screenshot-midstream.png"))
            return
        state["finals"] += 1
        if state["finals"] == 1:
            QTimer.singleShot(2500, first_done)
        elif state["finals"] == 2:
            QTimer.singleShot(1500, second_done)

    def first_done() -> None:
        # Play a game in the preview (X wins the top row) so the shot shows the artifact working.
        views = [v for v in window.pane.findChildren(SandboxView) if v.isVisible()]
        moves = "[0, 4, 1, 8, 2].forEach(i => document.querySelectorAll('.cell')[i].click())"
        views[0].page().runJavaScript(moves, 0, lambda _r: None)
        QTimer.singleShot(700, after_moves)

    def after_moves() -> None:
        window.chat.scroll_area.verticalScrollBar().setValue(0)  # the prompt and the artifact card in view
        shoot("screenshot-final.png")
        window.send("Now chart my sales data as bars", [])

    def second_done() -> None:
        shoot("screenshot-console.png")
        window.turns.show_version(window.conversation.path()[1].id)
        QTimer.singleShot(1500, edit_first)

    def edit_first() -> None:
        # Version 3: the first version with other colours (an edit run from the Source tab).
        source = window.flow.stored[0].source
        edited = source.replace("color: red", "color: #d6336c").replace("color: blue", "color: #1c7ed6")
        edited = edited.replace("background-color: #f0f0f0", "background-color: #fff3bf")
        window.flow.run_edit(edited)
        QTimer.singleShot(2500, open_compare)

    def open_compare() -> None:
        compare = window.open_compare()
        if compare is None:
            print("no comparison: fewer than two versions", flush=True)
            open_export()
            return
        compare.setGeometry(0, 0, w, h)
        compare.compare(1, len(window.flow.stored))
        moves = "[0, 4, 1, 8, 2].forEach(i => document.querySelectorAll('.cell')[i].click())"
        for side in (compare.left, compare.right):
            side.view.artifact_page.loadFinished.connect(
                lambda _ok, page=side.view.artifact_page: page.runJavaScript(moves, 0, lambda _r: None)
            )
        QTimer.singleShot(3500, lambda: (shoot("compare.png"), compare.close(), open_export()))

    def open_export() -> None:
        dialog = window.exporter.export_dialog()
        QTimer.singleShot(
            800, lambda: (shoot("screenshot-export.png"), dialog and dialog.reject(), app.quit())
        )

    window.pane.rendered.connect(on_rendered)
    QTimer.singleShot(800, lambda: window.send(prompt, []))
    QTimer.singleShot(90_000, app.quit)  # a safety net
    try:
        app.exec()
    finally:
        dispose(window, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
