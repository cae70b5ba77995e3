"""The window over a library of 1,000 conversations / 10,000 messages: ready, search, switch.

Builds the library with ``bench/library.py``'s generator (or reuses ``--data-dir``), then, in one
process with the QApplication and the web profile already made (``bench/startup.py`` times those):

- window + sidebar ready: open the library (integrity check, migrations, interrupted scan), build
  the window (sidebar filled with every conversation, the newest conversation loaded into the chat
  and its current version handed to the preview), show it and paint the first frame;
- search: type in the sidebar's box -> FTS5 query -> list refilled (the debounce delay left out);
- switch: click another conversation -> tree loaded, chat rebuilt and painted, version bar and
  Diff tab filled, the page handed to the preview (the page's own load is asynchronous, not counted).

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/library_window.py [--repeat 20]``
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from library import build, print_table

from studio.store.library import Library


def _ms(runs: list[float]) -> tuple[float, float]:
    return statistics.median(runs), max(runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="studio-bench-window-"))
    os.environ.setdefault("XDG_CONFIG_HOME", str(folder / "config"))
    path = folder / "library.db"
    with Library(path) as lib:
        have = len(lib.list_conversations())
        if have < args.conversations:
            secs = build(lib, args.conversations - have, args.messages)
            print(f"built {args.conversations - have} conversations in {secs:.1f} s", file=sys.stderr)
        total = lib.conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        ids = [c.id for c in lib.list_conversations()]

    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtTest import QTest

    from studio.app import build_window, create_application, dispose

    app = create_application()
    ini = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)

    def ready() -> tuple[float, Any, Any, Library]:
        t0 = time.perf_counter()
        lib = Library(path)
        window, profile = build_window(None, library=lib, settings=ini, native_dialogs=False)
        window.show()
        QTest.qWaitForWindowExposed(window, 5000)
        window.repaint()
        return (time.perf_counter() - t0) * 1000, window, profile, lib

    readies = []
    for _ in range(max(3, args.repeat // 4)):
        ms, window, profile, lib = ready()
        readies.append(ms)
        assert window.sidebar is not None and len(window.sidebar.ids()) == len(ids)
        dispose(window, profile)
        lib.close()
        app.processEvents()

    ms, window, profile, lib = ready()
    sb = window.sidebar
    rows: list[tuple[str, float, float, str]] = [
        ("window + sidebar ready (library open to first frame)", *_ms(readies), "< 1500")
    ]
    for query in ("gravity", "planet orbit", "zzzznothing"):
        runs = []
        for _ in range(args.repeat):
            sb.search_box.blockSignals(True)
            sb.search_box.setText(query)
            sb.search_box.blockSignals(False)
            t0 = time.perf_counter()
            sb.refresh()
            app.processEvents()
            runs.append((time.perf_counter() - t0) * 1000)
        rows.append((f"sidebar search {query!r} ({len(sb.ids())} rows)", *_ms(runs), "< 50"))
    sb.search_box.clear()
    sb.refresh()
    rng = random.Random(2)
    runs = []
    for _ in range(args.repeat * 2):
        cid = rng.choice(ids)
        t0 = time.perf_counter()
        window.flow.open_conversation(cid)
        window.chat.flush()
        window.repaint()
        runs.append((time.perf_counter() - t0) * 1000)
        QCoreApplication.processEvents()
    rows.append(("switch conversation in the window (chat painted)", *_ms(runs), "< 100"))
    dispose(window, profile)
    lib.close()

    print(f"\nlibrary: {len(ids)} conversations, {total} messages at {path}\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
