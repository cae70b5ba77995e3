"""Bench: the app's memory under a hostile artifact's console flood and request flood.

Run: .venv/bin/python bench/sandbox_flood.py [--seconds 30] [--unbounded]

Renders, in the window's preview (ArtifactPane on the app's profile and flags, offscreen):
a quiet page; a page that logs 10 MB/s of 100 KB messages plus 10,000 short ones a second for N
seconds (harder floods trip the hang watchdog, which stops the page); a page that keeps 500 fetches
of a 1 MB data file in flight for N seconds (its renderer grows until the 1.5 GB renderer limit
stops it). PSS comes from /proc/PID/smaps_rollup of this process and every descendant (the
QtWebEngineProcess renderers, GPU and utility processes). ``--unbounded`` lifts the console cap and
rate limit (the control). Prints one table row per phase and sample.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.web import flags

flags.apply()

from PySide6 import QtWebEngineWidgets  # noqa: E402, F401
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from startup import tree_pids  # noqa: E402  (bench/ is on sys.path: this script's folder)

from studio.web.scheme import register_scheme  # noqa: E402

QUIET = "<!doctype html><h1>quiet</h1><script>console.log('hello')</script>"
CONSOLE_FLOOD = """<!doctype html><h1>console flood</h1><script>
const big = "x".repeat(100 * 1024);
setInterval(() => { for (let i = 0; i < 5; i++) console.log(big + i); }, 50);
let n = 0; setInterval(() => { for (let i = 0; i < 200; i++) console.log("tick " + (n++)); }, 20);
</script>"""
REQUEST_FLOOD = """<!doctype html><h1>request flood</h1><script>
let n = 0;
const one = () => fetch("data/blob.bin?n=" + (n++)).then(r => r.arrayBuffer()).catch(() => null).finally(one);
for (let i = 0; i < 500; i++) one();
</script>"""


def pss_kb(pid: int) -> int:
    """Proportional set size of one process (kB), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure() -> tuple[float, float, int]:
    """(this process MB, its descendants MB, number of descendants)."""
    me = os.getpid()
    others = [p for p in tree_pids(me) if p != me]
    return pss_kb(me) / 1024, sum(pss_kb(p) for p in others) / 1024, len(others)


def run_for(app: QApplication, seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--unbounded", action="store_true", help="lift the console bounds (control)")
    args = parser.parse_args()
    register_scheme()
    app = QApplication(["sandbox-flood"])
    import shiboken6

    from studio.core.serving import ArtifactServer
    from studio.ui.artifactpane import ArtifactPane
    from studio.web import page as web_page
    from studio.web.profile import build_artifact_profile

    if args.unbounded:
        web_page.MAX_ENTRIES = 10**9
        web_page.RATE_PER_S = web_page.RATE_BURST = 1e12
    server = ArtifactServer()
    profile = build_artifact_profile(server)
    pane = ArtifactPane(profile, server, confirm_link=lambda url, parent: False)
    pane.resize(800, 600)
    pane.show()
    server.put_file("reqflood", "blob.bin", "application/octet-stream", os.urandom(1024 * 1024))
    rows: list[tuple[str, float, float, int, int]] = []

    def phase(name: str, artifact: str, html: str, seconds: float, samples: int = 1) -> None:
        pane.show_artifact(artifact, html, title=name, kind="html", final=True)
        for k in range(1, samples + 1):
            run_for(app, seconds / samples)
            app.processEvents()
            mine, web, n = measure()
            label = name if samples == 1 else f"{name} @{seconds * k / samples:g} s"
            rows.append((label, mine, web, n, len(pane.console_entries())))

    phase("quiet page", "quiet", QUIET, 5)
    phase("console flood", "flood", CONSOLE_FLOOD, args.seconds, samples=3)
    phase("quiet page again", "quiet", QUIET, 5)
    phase("request flood", "reqflood", REQUEST_FLOOD, args.seconds, samples=3)
    phase("quiet page again", "quiet", QUIET, 5)
    pane.stop()
    shiboken6.delete(pane)
    shiboken6.delete(profile)

    mode = "UNBOUNDED (control)" if args.unbounded else "bounded"
    print(f"\nconsole bounds: {mode}; PSS in MB (smaps_rollup)")
    print(f"{'phase':<26} {'app':>8} {'web procs':>10} {'total':>8} {'procs':>6} {'console entries':>16}")
    for name, mine, web, n, entries in rows:
        print(f"{name:<26} {mine:>8.1f} {web:>10.1f} {mine + web:>8.1f} {n:>6} {entries:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
