"""Bench: from "answer ended" (show_artifact(final=True)) to the final artifact on screen.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/preview_render.py [--reps 9]

Prints a table of medians (ms) for a ~20 KB artifact:
  rendered  - the pane swapped the page in (loadFinished, swap done, `rendered` emitted)
  painted   - the page's own double requestAnimationFrame fired (first frame painted)
Cases: a fresh artifact; the final version after a streamed one (a real reload); the final
version equal to the last streamed frame (no reload needed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from PySide6 import QtWebEngineWidgets  # noqa: F401
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from studio.web.scheme import register_scheme


def artifact(n: int, size: int = 20_000) -> str:
    """A ~20 KB interactive page (CSS, a table, a script) that logs when it first paints."""
    rows: list[str] = []
    i = 0
    while sum(len(r) for r in rows) < size - 800:
        rows.append(f"<tr><td>{i}</td><td>item {i} of run {n}</td><td class='v'>{i * 37 % 101}</td></tr>\n")
        i += 1
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Bench</title><style>"
        "body{font-family:sans-serif;margin:16px;background:#fafafa}table{border-collapse:collapse}"
        "td{border:1px solid #ccc;padding:2px 6px}.v{text-align:right}.hot{background:#fdd}"
        "</style></head><body><h1>Bench artifact " + str(n) + "</h1><button id=b>Sort</button>"
        "<table id=t>" + "".join(rows) + "</table><script>\n"
        "document.querySelectorAll('.v').forEach(td => { if (+td.textContent > 80) td.classList.add('hot'); });\n"
        "document.getElementById('b').onclick = () => {\n"
        "  const t = document.getElementById('t'); [...t.rows].sort((a, b) => a.cells[2].textContent - "
        "b.cells[2].textContent).forEach(r => t.appendChild(r)); };\n"
        "requestAnimationFrame(() => requestAnimationFrame(() => console.log('__painted__')));\n"
        "</script></body></html>"
    )


def main() -> None:
    """Run the bench and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    register_scheme()
    app = QApplication([])
    import shiboken6

    from studio.core.serving import ArtifactServer
    from studio.ui.artifactpane import ArtifactPane
    from studio.web.profile import build_artifact_profile

    server = ArtifactServer()
    profile = build_artifact_profile(server)
    pane = ArtifactPane(profile, server)
    pane.resize(900, 700)
    pane.show()
    loop = QEventLoop()
    marks: dict[str, float] = {}

    def on_rendered(_id: str, final: bool) -> None:
        if final:
            marks.setdefault("rendered", time.perf_counter())

    def on_console(item: dict) -> None:
        if item["message"] == "__painted__":
            marks.setdefault("painted", time.perf_counter())

    pane.rendered.connect(on_rendered)
    pane.consoleMessage.connect(on_console)

    def wait_for(key: str, ms: int = 10000) -> None:
        timer = QTimer(singleShot=True, interval=10)
        deadline = time.perf_counter() + ms / 1000
        timer.timeout.connect(
            lambda: loop.quit() if key in marks or time.perf_counter() > deadline else timer.start()
        )
        timer.start()
        loop.exec()

    def stream_then(html_stream: str | None, html_final: str, aid: str) -> tuple[float, float]:
        if html_stream is not None:
            marks.clear()
            pane.show_artifact(aid, html_stream, title="b", kind="html", final=False)
            while pane.current_html() != html_stream:
                app.processEvents()
            wait_for("painted")
        marks.clear()
        t0 = time.perf_counter()
        pane.show_artifact(aid, html_final, title="b", kind="html", final=True)
        wait_for("rendered")
        wait_for("painted") if html_stream != html_final else None
        rendered = (marks.get("rendered", float("nan")) - t0) * 1000
        painted = (marks.get("painted", marks.get("rendered", float("nan"))) - t0) * 1000
        return rendered, painted

    cases = {
        "fresh artifact, final": lambda r: stream_then(None, artifact(r), f"fresh{r}"),
        "final after a streamed frame": lambda r: stream_then(artifact(r) + "<!--", artifact(r), f"s{r}"),
        "final == last streamed frame": lambda r: stream_then(artifact(r), artifact(r), f"same{r}"),
    }
    stream_then(None, artifact(0), "warmup")
    print(f"20 KB artifact: {len(artifact(1).encode())} bytes, {args.reps} reps, medians in ms")
    print(f"{'case':34} {'rendered':>9} {'painted':>9} {'max painted':>12} {'missed':>7}")
    for name, run in cases.items():
        results = [run(r) for r in range(1, args.reps + 1)]
        ok = [(r, p) for r, p in results if r == r and p == p]  # NaN: not on screen within 10 s
        rendered = statistics.median(r for r, _ in ok)
        painted = [p for _, p in ok]
        missed = len(results) - len(ok)
        print(f"{name:34} {rendered:9.1f} {statistics.median(painted):9.1f} {max(painted):12.1f} {missed:7d}")
    shiboken6.delete(pane)
    shiboken6.delete(profile)


if __name__ == "__main__":
    main()
