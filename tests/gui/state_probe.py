"""Run one artifact in a fresh process on a persistent artifact profile and print what it found stored.

``python tests/gui/state_probe.py STORAGE_DIR ARTIFACT_ID`` prints one JSON line:
{"local": <localStorage counter before this run>, "idb": <IndexedDB counter before this run>}; the
page increments both, so a second run of the same artifact sees the first run's values. The process
then quits at once and leaves the web stack the way the app does (studio.web.unload.dispose_web,
then shutdown_application).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

PAGE = """<!DOCTYPE html><html><body><script>
(async () => {
  const local = Number(localStorage.getItem("n") || 0);
  localStorage.setItem("n", String(local + 1));
  const db = await new Promise((ok, bad) => {
    const r = indexedDB.open("probe", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => bad(r.error);
  });
  const get = () => new Promise((ok) => {
    const q = db.transaction("kv").objectStore("kv").get("n");
    q.onsuccess = () => ok(q.result || 0);
  });
  const idb = await get();
  await new Promise((ok) => {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(idb + 1, "n");
    tx.oncomplete = ok;
  });
  db.close();
  document.title = JSON.stringify({local, idb});
})();
</script></body></html>"""


def main() -> int:
    from PySide6 import QtWebEngineWidgets  # noqa: F401  (before the QApplication)
    from PySide6.QtCore import QTimer, QUrl
    from PySide6.QtWebEngineCore import QWebEnginePage
    from PySide6.QtWidgets import QApplication

    from studio.core.serving import ArtifactServer
    from studio.web.profile import build_artifact_profile
    from studio.web.scheme import register_scheme
    from studio.web.unload import dispose_web, shutdown_application

    storage, artifact = Path(sys.argv[1]), sys.argv[2]
    register_scheme()
    app = QApplication([sys.argv[0]])
    server = ArtifactServer()
    profile = build_artifact_profile(server, storage_path=storage)
    page = QWebEnginePage(profile)
    result: list[str] = []

    def title(t: str) -> None:
        if t.startswith("{") and not result:
            result.append(t)
            app.quit()

    page.titleChanged.connect(title)
    QTimer.singleShot(20000, app.quit)
    page.load(QUrl(server.put_page(artifact, PAGE)))
    app.exec()
    dispose_web(profile, [page])  # the app's own way out (pages unload before the profile goes)
    shutdown_application(app)  # then Chromium shuts down, its last storage commits with it
    print(result[0] if result else json.dumps({"error": "no answer"}), flush=True)
    return 0 if result else 1


if __name__ == "__main__":
    raise SystemExit(main())
