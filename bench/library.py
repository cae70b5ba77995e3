"""How fast the library opens, searches and loads a conversation at 1,000 conversations / 10,000 messages.

Builds a library in a temp folder (or ``--data-dir``; reused when it already holds the conversations),
then times, at the store level (no window): opening it (integrity check, migration, interrupted
scan) plus the full sidebar list; FTS search; loading one conversation (tree, attachments, versions).
The window-level figures (window + sidebar ready) come with the GUI phase.

Run: ``.venv/bin/python bench/library.py [--conversations 1000] [--messages 10] [--repeat 30]``
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from studio.store.library import Library

WORDS = (
    "canvas ball gravity bounce chart sales weather clock timer palette gradient particle snake game "
    "calculator todo list button slider orbit planet fractal maze quiz gallery dashboard animation color "
    "mouse click keyboard score level grid table filter sort export theme dark light responsive layout"
).split()
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ margin: 0; background: #{color:06x}; }} canvas {{ display: block; }}</style></head>
<body><canvas id="c" width="{w}" height="{h}"></canvas>
<script>
const ctx = document.getElementById("c").getContext("2d");
let t = 0; const items = Array.from({{length: {n}}}, (_, i) => ({{x: i * 7 % {w}, y: i * 13 % {h}, v: 1 + i % 5}}));
function frame() {{ ctx.clearRect(0, 0, {w}, {h}); for (const p of items) {{ p.y = (p.y + p.v) % {h};
  ctx.fillRect(p.x, p.y, 4, 4); }} t += 1; requestAnimationFrame(frame); }}
frame(); // {words}
</script></body></html>"""


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def build(lib: Library, conversations: int, messages: int, seed: int = 0) -> float:
    """Fill the library; returns seconds. Each conversation: alternating turns, a page per answer."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    for c in range(conversations):
        cid = lib.create_conversation()
        for turn in range(messages // 2):
            lib.add_message(cid, "user", f"Make a {sentence(rng, 6)} please, with {sentence(rng, 10)}")
            title = sentence(rng, 3).title()
            page = PAGE.format(
                title=title,
                color=rng.randrange(1 << 24),
                w=rng.randrange(200, 900),
                h=rng.randrange(200, 700),
                n=rng.randrange(10, 99),
                words=sentence(rng, 20),
            )
            ans = lib.add_message(
                cid, "assistant", f"Here is a {title}:\n\n```html\n{page}\n```\n\n{sentence(rng, 30)}"
            )
            if turn % 2 == 0:
                lib.add_version(cid, kind="html", title=title, source=page, message_id=ans.id)
        if c % 100 == 99:
            print(f"  built {c + 1} conversations", file=sys.stderr)
    return time.perf_counter() - t0


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, max) milliseconds over ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), max(runs)


def print_table(rows: list[tuple[str, float, float, str]]) -> None:
    """Rows of (operation, median ms, max ms, target) as a markdown table."""
    width = max(len(r[0]) for r in rows)
    print(f"| {'operation':<{width}} | {'median ms':>9} | {'max ms':>8} | target ms |")
    print(f"|{'-' * (width + 2)}|{'-' * 11}|{'-' * 10}|-----------|")
    for name, med, worst, target in rows:
        print(f"| {name:<{width}} | {med:>9.2f} | {worst:>8.2f} | {target} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=10, help="messages per conversation (default 10)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--data-dir", type=Path, default=None, help="build/reuse the library here")
    args = ap.parse_args(argv)
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="studio-bench-library-"))
    path = folder / "library.db"
    with Library(path) as lib:
        have = len(lib.list_conversations())
        if have < args.conversations:
            secs = build(lib, args.conversations - have, args.messages)
            print(f"built {args.conversations - have} conversations in {secs:.1f} s", file=sys.stderr)
        total = lib.conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        ids = [c.id for c in lib.list_conversations()]
    size_mb = sum(p.stat().st_size for p in folder.glob("library.db*")) / 1e6

    def open_and_list() -> None:
        with Library(path) as lib:
            lib.list_conversations()

    rows: list[tuple[str, float, float, str]] = []
    med, worst = timed(open_and_list, max(5, args.repeat // 3))
    rows.append(("open (check + migrate + scan) + full sidebar list", med, worst, "< 1500 (window, later)"))
    rng = random.Random(1)
    with Library(path) as lib:
        rows.append(
            ("list 1,000 sidebar rows (already open)", *timed(lib.list_conversations, args.repeat), "-")
        )
        for query in ("gravity", "grav", "planet orbit", "zzzznothing", "canvas"):
            rows.append(
                (
                    f"search {query!r} ({len(lib.search(query))} hits)",
                    *timed(functools.partial(lib.search, query), args.repeat),
                    "< 50",
                )
            )

        def switch() -> None:
            cid = rng.choice(ids)
            conv = lib.load(cid)
            conv.path()
            lib.versions(cid)
            lib.current_version(cid)

        rows.append(("switch conversation (load tree + versions)", *timed(switch, args.repeat * 3), "< 100"))
    print(f"\nlibrary: {len(ids)} conversations, {total} messages, {size_mb:.1f} MB at {path}\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
