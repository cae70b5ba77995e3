"""Stream a ~4,000-token answer into a ChatView and show that its cost grows linearly.

The answer is built from real model answers in ../shared/corpus (prose, lists, an html artifact,
css/js/python code blocks) or, without the corpus, from generated markdown. It is fed in chunks of
about one token (4 characters) the way the window feeds it: ``append_text`` per chunk, the
extractor's snapshot through ``set_artifact`` when it changes, and the event loop run so the frame
timer fires. Two modes:

* ``paced``: tokens arrive at ``--rate`` tokens/s (a fast local model); the 16 ms frame timer renders.
  The cost is the main thread's CPU time (``time.thread_time``), idle waiting excluded.
* ``every``: a render forced after every chunk (one token per frame: the worst case), wall time.

Then the cost of one render at several positions in the answer: flat means linear overall.

Usage::

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/chat_render.py [--tokens 4000] [--corpus DIR]
        [--theme none|light|dark]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from studio.core.extract import StreamingExtractor
from studio.ui.chatview import ChatView

CHARS_PER_TOKEN = 4
CORPUS_HEAD = "01-joke-site-gpt4.md"


def generated_answer(chars: int) -> str:
    """Markdown with headings, lists, a table, inline code and python blocks."""
    parts = ["# A long answer\n\nHere is the plan, step by step.\n\n"]
    i = 0
    while sum(map(len, parts)) < chars:
        i += 1
        parts.append(f"## Step {i}\n\nWe use `value_{i}` and **bold** words, then a list:\n\n")
        parts.append("".join(f"- item {i}.{k} with a few more words\n" for k in range(4)) + "\n")
        parts.append("| col | val |\n|---|---|\n" + "".join(f"| r{k} | {k * i} |\n" for k in range(3)) + "\n")
        parts.append(
            "```python\n" + "".join(f"def f{i}_{k}(x):\n    return x * {k}\n" for k in range(4)) + "```\n\n"
        )
    return "".join(parts)[:chars]


def build_answer(tokens: int, corpus: Path | None) -> tuple[str, str]:
    """One answer of about ``tokens`` tokens: a real answer with its html artifact, then more markdown."""
    chars = tokens * CHARS_PER_TOKEN
    head, source = "", "generated markdown"
    if corpus is not None and (corpus / CORPUS_HEAD).exists():
        head = (corpus / CORPUS_HEAD).read_text(encoding="utf-8").strip() + "\n\n"
        source = f"corpus {CORPUS_HEAD[:2]} (prose + html artifact) + generated markdown"
    return head + generated_answer(chars - len(head)), source


def run(answer: str, mode: str, marks: list[int], rate: float) -> tuple[list[float], int, ChatView]:
    """Stream ``answer``; return the chat's cost (s) when each token mark was reached, and at the end."""
    app = QApplication.instance()
    assert app is not None
    view = ChatView()
    view.resize(600, 900)
    view.show()
    app.processEvents()
    view.add_user_message("u", "make something")
    view.begin_assistant_message("a")
    ex = StreamingExtractor()
    revision = -1
    clock = time.thread_time if mode == "paced" else time.perf_counter
    spent = 0.0
    at: list[float] = []
    mark_i = 0
    n_tokens = (len(answer) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
    start = time.perf_counter()
    for tok in range(n_tokens):
        delta = answer[tok * CHARS_PER_TOKEN : (tok + 1) * CHARS_PER_TOKEN]
        ex.feed(delta)  # the extractor is not the chat's cost; fed outside the timing
        snap = ex.snapshot()  # cached while nothing changed; bumps ``revision`` when it did
        if ex.revision == revision:
            snap = None
        revision = ex.revision
        t0 = clock()
        view.append_text("a", delta)
        if snap is not None and snap.artifact is not None:
            view.set_artifact("a", snap, 1)
        if mode == "every":
            view.flush()
            app.processEvents()
        else:  # wait for the next token like the window does: the event loop runs, timers fire
            due = start + (tok + 1) / rate
            while (now := time.perf_counter()) < due:
                app.processEvents()
                time.sleep(min(due - now, 0.001))
        spent += clock() - t0
        if mark_i < len(marks) and tok + 1 == marks[mark_i]:
            at.append(spent)
            mark_i += 1
    t0 = clock()
    view.finish_assistant_message("a", "stop")
    app.processEvents()
    spent += clock() - t0
    at.append(spent)
    return at, view.flush_count, view


def frame_cost(answer: str, at_tokens: list[int], frames: int = 200) -> list[float]:
    """Main-thread CPU ms of one render (append a token, render, lay out, paint) at each position."""
    app = QApplication.instance()
    assert app is not None
    out = []
    for tok in at_tokens:
        n = tok * CHARS_PER_TOKEN
        view = ChatView()
        view.resize(600, 900)
        view.show()
        view.begin_assistant_message("a")
        view.append_text("a", answer[:n])
        view.flush()
        app.processEvents()
        t0 = time.thread_time()
        for k in range(frames):
            view.append_text("a", answer[n + k * CHARS_PER_TOKEN : n + (k + 1) * CHARS_PER_TOKEN] or " ")
            view.flush()
            app.processEvents()
        out.append((time.thread_time() - t0) / frames * 1000)
        view.close()
        view.deleteLater()
        app.processEvents()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=100.0, help="tokens/s in the paced mode")
    parser.add_argument("--modes", default="paced,every")
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
    parser.add_argument(
        "--theme", choices=("none", "light", "dark"), default="none", help="the app's theme (style sheet)"
    )
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    if args.theme != "none":
        from studio.ui import theme

        theme.install(app, args.theme)
    print(f"theme: {args.theme}")
    answer, source = build_answer(args.tokens, args.corpus)
    n = (len(answer) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
    quarter = n // 4
    marks = [quarter, 2 * quarter, 3 * quarter]
    print(f"answer: {len(answer)} chars, {n} tokens of {CHARS_PER_TOKEN} chars, from {source}")
    print(
        f"{'mode':<7}{'total ms':>10}{'ms/token':>10}{'renders':>9}   ms per 1/4 of the answer (q1 q2 q3 q4)   q4/q1"
    )
    print(f"paced: {args.rate:.0f} tok/s, main-thread CPU time; every: a render after each token, wall time")
    for mode in args.modes.split(","):
        at, renders, view = run(answer, mode, marks, args.rate)
        total = at[-1]
        bounds = [0.0, *at]
        quarters = [(bounds[i + 1] - bounds[i]) * 1000 for i in range(4)]
        ratio = quarters[3] / quarters[0] if quarters[0] else float("nan")
        qs = " ".join(f"{q:8.1f}" for q in quarters)
        print(f"{mode:<7}{total * 1000:>10.1f}{total * 1000 / n:>10.3f}{renders:>9}   {qs}   {ratio:5.2f}")
        view.close()
        view.deleteLater()
        app.processEvents()
    positions = [max(1, n // 8), n // 4, n // 2, n - 200]
    costs = frame_cost(answer, positions)
    print("one render (a token appended, rendered, laid out, painted), main-thread CPU ms, by position:")
    print("  " + "  ".join(f"at {p:>5} tokens: {c:5.2f}" for p, c in zip(positions, costs, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
