"""Screenshots of an artifact using the local model through window.studio (not shipped).

The real window, the real SmolLM2 (llama.cpp, GGUF from scripts/fetch_model.py) and a saved
conversation whose artifact asks the model for a quiz question when it opens. Run under Xvfb:

    Xvfb :14 -screen 0 1280x800x24 & DISPLAY=:14 QT_QPA_PLATFORM=xcb \\
        .venv/bin/python scripts/screenshot_bridge.py --out /tmp/shots

It shoots the consent question (``bridge-consent.png``), the "is using the model · Stop" indicator
while the answer streams into the page (``bridge-using.png``) and the page after it (``bridge-done.png``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Quiz maker</title>
<style>
body { font-family: sans-serif; margin: 2rem; background: #f6f7fb; color: #223; }
textarea { width: 100%; height: 5rem; font: inherit; }
button { font: inherit; padding: .4rem 1rem; margin: .6rem 0; }
#out { white-space: pre-wrap; background: white; border: 1px solid #ccd; padding: 1rem; min-height: 4rem; }
.note { color: #a33; }
</style></head>
<body>
<h1>Quiz maker</h1>
<textarea id="text">The water cycle: water evaporates from the sea, forms clouds, falls as rain and flows back.</textarea>
<button id="go">Ask me a question</button>
<div id="out"></div>
<script>
const out = document.getElementById("out");
async function ask() {
  if (!window.studio || !window.studio.available) {
    out.innerHTML = '<span class="note">This quiz needs Artifacts Studio\\'s local model.</span>';
    return;
  }
  out.textContent = "";
  const prompt = "Write a multiple-choice quiz question about this text. " + document.getElementById("text").value;
  try {
    for await (const piece of window.studio.stream(prompt, {max_tokens: 160, temperature: 0})) {
      out.textContent += piece;
    }
  } catch (e) {
    out.innerHTML = '<span class="note"></span>';
    out.firstChild.textContent = e.message;
  }
}
document.getElementById("go").onclick = ask;
ask();
</script>
</body></html>"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bridge-shots")
    p.add_argument("--size", default="1280x800")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QGuiApplication
    from real_model import find_real_model

    from studio.app import build_window, create_application, dispose
    from studio.engine.llamacpp import LlamaCppEngine
    from studio.store.library import Library
    from studio.ui.generation import GenerationController

    model = find_real_model()
    if model is None:
        raise SystemExit("the real model is not fetched: python scripts/fetch_model.py")
    app = create_application()
    from studio.ui import theme

    theme.install(app, "light")  # the look the app starts in (the README's shots are light)
    tmp = Path(tempfile.mkdtemp())
    library = Library(tmp / "library.db")
    cid = library.create_conversation("Quiz maker that uses the model")
    library.add_message(cid, "user", "Make a quiz maker that asks the local model for questions")
    answer = library.add_message(cid, "assistant", f"Here is a quiz maker.\n\n```html\n{PAGE}\n```\n")
    library.add_version(cid, kind="html", title="Quiz maker", source=PAGE, message_id=answer.id)
    controller = GenerationController(LlamaCppEngine())
    window, profile = build_window(
        controller,
        native_dialogs=False,
        settings=QSettings(str(tmp / "w.ini"), QSettings.Format.IniFormat),
        library=library,
        settings_file=tmp / "settings.json",
    )
    w, h = (int(v) for v in args.size.split("x"))
    window.setGeometry(0, 0, w, h)
    window.show()
    bridge = window.bridge
    shots: list[str] = []
    state = {"chars": 0}

    def shoot(name: str) -> None:
        app.processEvents()
        path = args.out / name
        QGuiApplication.primaryScreen().grabWindow(0).toImage().save(str(path), "PNG", 0)
        shots.append(name)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)", flush=True)

    def asked(_aid: str, _title: str) -> None:
        QTimer.singleShot(600, lambda: (shoot("bridge-consent.png"), bridge.answer_consent(True)))

    def delta(request_id: str, text: str) -> None:
        if not request_id.startswith("bridge-"):
            return
        state["chars"] += len(text)
        if state["chars"] >= 120 and "bridge-using.png" not in shots:  # a line or two into the page
            shoot("bridge-using.png")

    def activity(title: str) -> None:
        if not title and shots:
            QTimer.singleShot(800, lambda: (shoot("bridge-done.png"), app.quit()))

    bridge.consentAsked.connect(asked)
    bridge.activityChanged.connect(activity)
    controller.delta.connect(delta)
    controller.load(str(model.gguf))
    QTimer.singleShot(120_000, app.quit)  # a safety net
    try:
        app.exec()
    finally:
        dispose(window, profile)
    return 0 if len(shots) == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
