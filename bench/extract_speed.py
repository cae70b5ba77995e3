"""How much streaming extraction costs per chunk, on every corpus answer.

Feeds each answer of ../shared/corpus (or $STUDIO_CORPUS_DIR) in ~4-character chunks, calling
``snapshot()`` after each feed as the app's streaming path does, and prints a table.

Run: ``.venv/bin/python bench/extract_speed.py [--chunk 4] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from studio.core.extract import StreamingExtractor


def corpus_dir() -> Path:
    env = os.environ.get("STUDIO_CORPUS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def run_one(text: str, chunk: int) -> tuple[int, float]:
    """Stream one answer; return (chunks, seconds)."""
    ex = StreamingExtractor()
    n = 0
    t0 = time.perf_counter()
    for i in range(0, len(text), chunk):
        ex.feed(text[i : i + chunk])
        ex.snapshot()
        n += 1
    ex.finish()
    return n, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunk", type=int, default=4, help="characters per chunk (default 4)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the best is shown (default 3)")
    args = ap.parse_args(argv)
    root = corpus_dir()
    files = sorted(p for p in root.glob("*.md") if p.name != "README.md")
    if not files:
        print(f"no corpus at {root}", file=sys.stderr)
        return 1
    print(f"{'case':<48} {'chars':>7} {'chunks':>7} {'total ms':>9} {'us/chunk':>9}")
    tot_chars = tot_chunks = 0
    tot_s = 0.0
    worst = 0.0
    for p in files:
        text = p.read_text(encoding="utf-8")
        best = min(run_one(text, args.chunk) for _ in range(args.repeat))
        n, secs = best
        per = secs / n * 1e6 if n else 0.0
        worst = max(worst, per)
        tot_chars += len(text)
        tot_chunks += n
        tot_s += secs
        print(f"{p.stem[:48]:<48} {len(text):>7} {n:>7} {secs * 1e3:>9.2f} {per:>9.1f}")
    mean = tot_s / tot_chunks * 1e6 if tot_chunks else 0.0
    print(f"{'TOTAL':<48} {tot_chars:>7} {tot_chunks:>7} {tot_s * 1e3:>9.2f} {mean:>9.1f}")
    print(f"worst case mean: {worst:.1f} us/chunk")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
