"""The control run: the attack pages in a PLAIN QtWebEngine profile, no studio protections at all.

``python vector_probe.py '{"preconnect": 4711, ...}'`` loads each vector page (tests/gui/vectors.py)
aimed at its own canary port, lets them run ~3 s and exits; ``python vector_probe.py PAGE.html PORT``
loads one page with ``http://127.0.0.1:PORT/`` as its base URL. Run in a fresh process, because the
studio's Chromium flags (WebRTC policy, network gate) are process-wide.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox --disable-gpu"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from PySide6 import QtWebEngineWidgets  # noqa: F401  (before the QApplication)
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineSettings
from PySide6.QtWidgets import QApplication
from vectors import page


def main() -> int:
    if len(sys.argv) == 3:
        with open(sys.argv[1], encoding="utf-8") as f:
            html = f.read()
        pages_html = {html: int(sys.argv[2])}
    else:
        ports: dict[str, int] = json.loads(sys.argv[1])
        pages_html = {page(name, port): port for name, port in ports.items()}
    app = QApplication(["vector-probe"])
    profile = QWebEngineProfile()
    # No favicon request: what reaches a canary is the vector's own traffic.
    profile.settings().setAttribute(QWebEngineSettings.WebAttribute.AutoLoadIconsForPage, False)
    pages = []
    for html, port in pages_html.items():
        p = QWebEnginePage(profile)
        p.setHtml(html, QUrl(f"http://127.0.0.1:{port}/"))
        pages.append(p)
    QTimer.singleShot(int(os.environ.get("PROBE_MS", "3000")), app.quit)
    app.exec()
    for p in pages:
        p.deleteLater()
    app.processEvents()
    print("PROBE_DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
