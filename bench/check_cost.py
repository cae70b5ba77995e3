"""What the liveness checks cost per artifact, and that they never block the GUI thread.

For each page (static, animated, a button, a key-driven box, a three.js scene) it loads the page in
the sandbox offscreen (as ``check`` does) and runs the liveness probe (studio.web.liveness) on it,
``--runs`` times, reporting the median of:

* ``probe wall``: from start to the report (mostly waiting: 1 s of frames, 2 s of frame counting,
  150 ms per input);
* ``GUI cpu``: CPU time of the GUI thread during the probe (``time.thread_time``: grabs, JSON, Qt);
* ``max stall``: the longest gap between 5 ms heartbeats on the GUI thread during the probe (what a
  user would feel: the GUI thread is never blocked longer than this);
* ``idle stall``: the same heartbeat for 2 s with no probe running (what the machine's load alone
  does: on a shared 2-core box it is not zero);
* ``grab``: one frame grab of the 1024x768 view (the probe takes ~4 + 1 per input).

The window starts the probe only after the final render is on screen and judged free of errors, in a
page of its own, so it never delays the final render.

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/check_cost.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --use-angle=swiftshader-webgl")

from PySide6 import QtWebEngineWidgets  # noqa: F401  (before the QApplication)
from PySide6.QtCore import QEventLoop, QTimer, QUrl
from PySide6.QtWidgets import QApplication

from studio.web.scheme import register_scheme

register_scheme()
_APP = QApplication([])

import shiboken6  # noqa: E402

from studio.core.serving import ArtifactServer  # noqa: E402
from studio.web.liveness import LivenessProbe, install_probe  # noqa: E402
from studio.web.preview import SandboxView  # noqa: E402
from studio.web.profile import build_artifact_profile  # noqa: E402

PAGES = {
    "static": "<h1>Hello</h1><p>Nothing moves.</p>",
    "animated": (
        "<div id=b style='position:absolute;width:40px;height:40px;background:#c00'></div><script>"
        "let x = 0; (function s() { x = (x + 3) % 600; b.style.left = x + 'px'; requestAnimationFrame(s); })();"
        "</script>"
    ),
    "button": (
        "<button id=a>Add one</button> <span id=n>0</span><script>let n = 0;"
        "a.onclick = () => { n++; document.getElementById('n').textContent = n; };</script>"
    ),
    "keys": (
        "<div id=b style='position:absolute;left:100px;width:40px;height:40px;background:#0a0'></div><script>"
        "let x = 100; addEventListener('keydown', (e) => { x += e.key === 'ArrowRight' ? 10 : -10;"
        " b.style.left = x + 'px'; });</script>"
    ),
    "three.js": (
        "<script src='https://cdnjs.cloudflare.com/ajax/libs/three.js/r128/three.min.js'></script><script>"
        "const s = new THREE.Scene(), c = new THREE.PerspectiveCamera(60, 4 / 3, 0.1, 10); c.position.z = 3;"
        "const r = new THREE.WebGLRenderer(); r.setSize(640, 480); document.body.appendChild(r.domElement);"
        "const m = new THREE.Mesh(new THREE.BoxGeometry(1, 1, 1), new THREE.MeshNormalMaterial()); s.add(m);"
        "(function a() { m.rotation.y += 0.02; r.render(s, c); requestAnimationFrame(a); })();</script>"
    ),
}


def _wait(loop: QEventLoop, ms: int) -> None:
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def measure(html: str) -> dict:
    """Load one page and probe it once; returns the timings in ms and the report."""
    server = ArtifactServer()
    profile = build_artifact_profile(server)
    view = SandboxView(profile, confirm_link=lambda url, parent: False)
    view.resize(1024, 768)
    view.show()
    install_probe(view.page())
    loop = QEventLoop()
    view.artifact_page.loadFinished.connect(lambda _ok: loop.quit())
    view.artifact_page.load(QUrl(server.put_page("bench", f"<!doctype html><body>{html}</body>")))
    loop.exec()
    _wait(loop, 300)
    t = time.perf_counter()
    view.grab()
    grab_ms = (time.perf_counter() - t) * 1000
    beats: list[float] = []
    heart = QTimer(interval=5)
    heart.timeout.connect(lambda: beats.append(time.perf_counter()))
    idle0 = time.perf_counter()
    heart.start()
    _wait(loop, 2000)
    heart.stop()
    idle = max(b - a for a, b in zip([idle0, *beats], beats, strict=False)) * 1000 if beats else 0.0
    beats.clear()
    out: dict = {}
    probe = LivenessProbe(view)

    def done(report: dict) -> None:
        out.update(report)
        loop.quit()

    probe.finished.connect(done)
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    heart.start()
    probe.start()
    loop.exec()
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    heart.stop()
    gaps = [b - a for a, b in zip([wall0, *beats], [*beats, time.perf_counter()], strict=True)]
    shiboken6.delete(view)
    shiboken6.delete(profile)
    return {
        "wall": wall * 1000,
        "cpu": cpu * 1000,
        "stall": max(gaps) * 1000,
        "idle": idle,
        "grab": grab_ms,
        "report": out,
    }


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"liveness probe cost per artifact, median of {args.runs} runs (1024x768, offscreen)\n")
    head = f"{'page':<10} {'probe wall':>11} {'GUI cpu':>9} {'max stall':>10} {'idle stall':>11} {'grab':>7}   result"
    print(head)
    print("-" * len(head))
    for name, html in PAGES.items():
        runs = [measure(html) for _ in range(args.runs)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "stall", "idle", "grab")}
        rep = runs[-1]["report"]
        result = (
            f"alive={rep.get('alive')} responds={rep.get('responds')} fps={rep.get('fps')} "
            f"tried={len(rep.get('tried') or ())}"
        )
        print(
            f"{name:<10} {med['wall']:>9.0f}ms {med['cpu']:>7.0f}ms {med['stall']:>8.1f}ms "
            f"{med['idle']:>9.1f}ms {med['grab']:>5.1f}ms   {result}"
        )


if __name__ == "__main__":
    main()
