"""What a thumbnail costs, and where: the grab on the GUI thread, the encoding on the writer thread,
and the Gallery's read of a library with many thumbnails (also on the writer thread).

A real ArtifactPane renders corpus pages (or a generated page without the corpus); each is grabbed
(``pane.frame()``, the only step on the GUI thread) and encoded (crop, scale, PNG: what the writer
thread runs). Then a library of ``--artifacts`` artifacts with those thumbnails is read the way the
Gallery reads it (``Library.gallery()`` and a decode per item).

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/thumbnails.py [--reps 5] [--artifacts 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWebEngineWidgets  # noqa: F401
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from studio.web import flags
from studio.web.scheme import register_scheme

CORPUS = Path(os.environ.get("STUDIO_CORPUS_DIR", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
CASES = ("34", "30", "26", "01")


def pages() -> list[tuple[str, str]]:
    """(name, standalone html) of the corpus cases, or one generated page."""
    from studio.core.extract import extract
    from studio.core.standalone import standalone_html

    out = []
    for case in CASES:
        found = sorted(CORPUS.glob(f"{case}-*.md"))
        if found and (art := extract(found[0].read_text(encoding="utf-8")).artifact) is not None:
            out.append((found[0].stem[:28], standalone_html(art)))
    if not out:
        rows = "".join(
            f"<tr><td>{i}</td><td style='background:hsl({i * 7},70%,60%)'>{i * i}</td></tr>"
            for i in range(60)
        )
        out.append(
            (
                "generated table",
                f"<!DOCTYPE html><html><body><h1>Table</h1><table>{rows}</table></body></html>",
            )
        )
    return out


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f}"


def main() -> None:
    """Run the bench and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--artifacts", type=int, default=200)
    args = parser.parse_args()
    flags.apply()  # the app's Chromium flags (no OS sandbox only as root)
    register_scheme()
    app = QApplication([])
    import shiboken6

    from studio.core.serving import ArtifactServer
    from studio.store.library import Library
    from studio.ui.artifactpane import ArtifactPane
    from studio.ui.thumbnails import decode_thumbnail, encode_thumbnail
    from studio.web.profile import build_artifact_profile

    server = ArtifactServer()
    profile = build_artifact_profile(server)
    pane = ArtifactPane(profile, server)
    pane.resize(900, 700)
    pane.show()
    loop = QEventLoop()

    def settle(ms_: int) -> None:
        QTimer.singleShot(ms_, loop.quit)
        loop.exec()

    print(
        f"pane 900x700, {args.reps} reps, medians in ms (GUI: on the GUI thread; writer: on the writer thread)"
    )
    print(f"{'page':30} {'grab GUI':>9} {'encode writer':>14} {'png KB':>7}")
    pngs: list[bytes] = []
    for i, (name, html) in enumerate(pages()):
        pane.show_artifact(f"bench{i}", html, title=name, kind="html", final=True)
        while pane.current_html() != html or pane.is_rendering():
            app.processEvents()
        settle(700)  # what the taker waits (SETTLE_MS)
        grabs, encodes = [], []
        png = b""
        for _ in range(args.reps):
            t0 = time.perf_counter()
            image = pane.frame()
            t1 = time.perf_counter()
            encoded = encode_thumbnail(image)
            t2 = time.perf_counter()
            grabs.append(t1 - t0)
            encodes.append(t2 - t1)
            png = encoded[0] if encoded else b""
        pngs.append(png)
        print(f"{name:30} {ms(grabs):>9} {ms(encodes):>14} {len(png) / 1024:7.1f}")

    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(Path(tmp) / "library.db")
        for i in range(args.artifacts):
            cid = lib.create_conversation(f"chat {i}")
            v = lib.add_version(cid, kind="html", title=f"artifact {i}", source="<p>x</p>")
            if pngs[i % len(pngs)]:
                lib.set_thumbnail(v.id, pngs[i % len(pngs)], 320, 200)
        reads, decodes = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            items = lib.gallery()
            t1 = time.perf_counter()
            for it in items:
                if it.thumbnail:
                    decode_thumbnail(it.thumbnail)
            decodes.append(time.perf_counter() - t1)
            reads.append(t1 - t0)
        search = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            lib.gallery("artifact 1", thumbnails=False)
            search.append(time.perf_counter() - t0)
        lib.close()
    print()
    print(f"gallery of {args.artifacts} artifacts (writer thread) {'ms':>8}")
    print(f"{'read rows + thumbnails':38} {ms(reads)}")
    print(f"{'decode every thumbnail':38} {ms(decodes)}")
    print(f"{'search, no thumbnails':38} {ms(search)}")
    shiboken6.delete(pane)
    shiboken6.delete(profile)


if __name__ == "__main__":
    main()
