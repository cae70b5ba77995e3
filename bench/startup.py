"""Launch time and idle memory of the studio window (prints a table; not a timed test).

1. Launch -> window shown: fresh subprocesses run ``python -m studio`` with STUDIO_MEASURE_STARTUP=1;
   the app prints the wall-clock time once the first event-loop turn after ``show()`` has run.
   The figure is that time minus the moment just before the process was spawned (interpreter start,
   imports, QApplication, web profile, window, show). Median of several runs; the first run is
   reported apart (coldest page cache). The baseline row is a bare PySide6 window holding one
   QWebEngineView, measured the same way in the same run (launches interleaved with the app's, so
   both see the same machine load); the ratio app / baseline is printed (target <= 1.3).
2. Idle memory: a child builds the same window with the scripted engine (tests/gui/scripted.py),
   streams corpus case 01 into it, waits for the final preview, then idles; the parent sums PSS
   from /proc/<pid>/smaps_rollup over the child and every descendant (QtWebEngineProcess...).

Usage: python bench/startup.py [--runs 7] [--no-memory] [--platform offscreen] [--model "PATH [--engine E]"]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_STARTUP_S = 1.0
TARGET_RATIO = 1.3
APP_ROW = "python -m studio (cli) -> shown"
BASELINE_ROW = "bare QWebEngineView window -> shown"

# The baseline: the least a QtWebEngine window costs (same flags, same report as the app's).
BASELINE = """
import time
import PySide6.QtWebEngineWidgets
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
from PySide6.QtWebEngineWidgets import QWebEngineView
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
app = QApplication(["baseline"])
window = QMainWindow()
window.setCentralWidget(QWebEngineView())
window.resize(1200, 800)
started = time.monotonic()
def check():
    handle = window.windowHandle()
    exposed = handle is not None and handle.isExposed()
    if not exposed and time.monotonic() - started < 10:
        QTimer.singleShot(1, check)
        return
    window.repaint()
    print(f"STUDIO_SHOWN {time.time():.6f} exposed={exposed} cpu={time.process_time():.3f}", flush=True)
    window.close()
QTimer.singleShot(0, check)
window.show()
app.exec()
"""
TARGET_PSS_MB = 300.0


def _env(platform: str) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = platform
    env.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[var] = str(tmp / var.lower())  # never touch the real per-user folders
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    # An installed app runs from bytecode (pip and the bundles compile it): without it every launch
    # would compile the studio sources (~0.15 s of CPU), which the baseline does not have to.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _one_launch(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(launch -> shown, launch -> exit, CPU seconds of the app process until shown)."""
    env = dict(env, STUDIO_MEASURE_STARTUP="1")
    t0 = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    t_exit = time.time()
    for line in out.stdout.splitlines():
        if line.startswith("STUDIO_SHOWN "):
            fields = dict(f.split("=", 1) for f in line.split()[2:] if "=" in f)
            return float(line.split()[1]) - t0, t_exit - t0, float(fields.get("cpu", "nan"))
    raise RuntimeError(f"no STUDIO_SHOWN line (rc={out.returncode}):\n{out.stdout}\n{out.stderr[-2000:]}")


def measure_startup(
    runs: int, platform: str, model: list[str] | None = None
) -> list[tuple[str, float, float, float, float]]:
    """Rows of (what, first run, median of the rest, exit median, CPU median) in seconds.

    The commands take turns launch by launch, so a change in the machine's load touches every row.
    """
    env = _env(platform)
    py = sys.executable
    commands = {
        "python -c pass (interpreter only)": [py, "-c", "pass"],
        BASELINE_ROW: [py, "-c", BASELINE],
        APP_ROW: [py, "-m", "studio"],
    }
    if model:  # the window with a model to load (it loads once the first frame is up)
        commands["python -m studio --model M -> shown"] = [py, "-m", "studio", "--model", *model]
    samples: dict[str, list[tuple[float, float, float]]] = {what: [] for what in commands}
    for _ in range(runs):
        for what, cmd in commands.items():
            if cmd[-1] == "pass":
                t0 = time.time()
                subprocess.run(cmd, env=env, check=True)
                s = time.time() - t0
                samples[what].append((s, s, float("nan")))
            else:
                samples[what].append(_one_launch(cmd, env))
    rows = []
    for what, got in samples.items():
        shown = [g[0] for g in got]
        rest = shown[1:] or shown
        rows.append(
            (
                what,
                shown[0],
                statistics.median(rest),
                statistics.median(g[1] for g in got),
                statistics.median(g[2] for g in got),
            )
        )
    return rows


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_pids(pid: int) -> list[int]:
    """``pid`` and every descendant process (Linux /proc)."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _rollup(pid: int) -> tuple[str, float, float]:
    name = Path(f"/proc/{pid}/comm").read_text().strip()
    pss = rss = 0.0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key == "Pss":
            pss = int(rest.split()[0]) / 1024
        elif key == "Rss":
            rss = int(rest.split()[0]) / 1024
    return name, pss, rss


def measure_memory(platform: str, idle_s: float = 3.0) -> list[tuple[str, float, float]]:
    """Rows of (process, PSS MB, RSS MB) for the idle window with an artifact shown."""
    env = _env(platform)
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--idle-child"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"the idle child did not get ready: {line!r} {child.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(idle_s)
        rows = []
        for pid in tree_pids(child.pid):
            try:
                rows.append(_rollup(pid))
            except OSError:
                continue
        return rows
    finally:
        child.terminate()
        child.wait(30)


def idle_child() -> int:
    """Build the window with the scripted engine, render corpus 01, report READY, idle."""
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QTimer

    from studio.app import build_window, create_application, dispose
    from studio.ui.generation import GenerationController
    from tests.gui.scripted import ScriptedEngine, corpus_answer

    app = create_application()
    controller = GenerationController(ScriptedEngine([corpus_answer("01")], chunk_chars=8, delay=0.005))
    window, profile = build_window(controller, native_dialogs=False)
    window.show()

    def on_rendered(_artifact_id: str, final: bool) -> None:
        if final:
            print("READY", flush=True)

    window.pane.rendered.connect(on_rendered)
    QTimer.singleShot(100, lambda: window.send("Make a random joke page", []))
    QTimer.singleShot(60_000, app.quit)
    try:
        return app.exec()
    finally:
        dispose(window, profile)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--model", help='also launch with a model: --model "PATH [--engine E]"')
    p.add_argument("--idle-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.idle_child:
        return idle_child()
    print(f"platform={args.platform} runs={args.runs} python={sys.version.split()[0]} cpus={os.cpu_count()}")
    print()
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} (timings are only comparable on an idle machine)")
    print(f"{'launch -> shown':<40} {'first s':>8} {'median s':>9} {'exit s':>7} {'app CPU s':>10}")
    rows = measure_startup(args.runs, args.platform, args.model.split() if args.model else None)
    for what, first, median, total, cpu in rows:
        print(f"{what:<40} {first:8.3f} {median:9.3f} {total:7.3f} {cpu:10.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    medians = {r[0]: r[2] for r in rows}
    ratio = medians[APP_ROW] / medians[BASELINE_ROW]
    print(f"app / baseline (medians): {ratio:.2f}x  (target <= {TARGET_RATIO:.1f}x)")
    print(f"target: window shown < {TARGET_STARTUP_S:.1f} s")
    if args.no_memory:
        return 0
    print()
    rows = measure_memory(args.platform)
    print(f"{'process (idle, artifact shown)':<40} {'PSS MB':>8} {'RSS MB':>8}")
    for name, pss, rss in rows:
        print(f"{name:<40} {pss:8.1f} {rss:8.1f}")
    total_pss = sum(r[1] for r in rows)
    print(f"{'TOTAL (' + str(len(rows)) + ' processes)':<40} {total_pss:8.1f} {sum(r[2] for r in rows):8.1f}")
    print(f"target: PSS < {TARGET_PSS_MB:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
