"""Extraction on the 38 real model answers of ../shared/corpus (see corpus_table.py for why)."""

from __future__ import annotations

import importlib.util
import os
import random
import re
import sys
from pathlib import Path

import pytest

from studio.core.extract import Extraction, StreamingExtractor, extract
from studio.core.standalone import standalone_html

pytestmark = pytest.mark.corpus

_spec = importlib.util.spec_from_file_location("corpus_table", Path(__file__).with_name("corpus_table.py"))
assert _spec is not None and _spec.loader is not None
corpus_table = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("corpus_table", corpus_table)
_spec.loader.exec_module(corpus_table)
CASES = corpus_table.CASES

CORPUS = Path(os.environ.get("STUDIO_CORPUS_DIR") or Path(__file__).parents[2].parent / "shared" / "corpus")
_FENCE_PREFIX = re.compile(r"^ {0,3}(?:[`~]{1,2}|`{3,}.*|~{3,}.*)\r?$")


def _read(case: str) -> str:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (set STUDIO_CORPUS_DIR)")
    path = CORPUS / f"{case}.md"
    if not path.exists():
        pytest.skip(f"corpus case {path} not found")
    with path.open(encoding="utf-8", newline="") as fh:
        return fh.read()


def test_table_covers_every_corpus_answer() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS} (set STUDIO_CORPUS_DIR)")
    names = {p.stem for p in CORPUS.glob("*.md") if p.name != "README.md"}
    assert names == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_case(case: str) -> None:
    _check_case(CASES[case], _read(case))


@pytest.mark.parametrize("case", sorted(corpus_table.SPLIT_CASES))
def test_split_answer_with_unlabelled_fences(case: str) -> None:
    text, exp = corpus_table.SPLIT_CASES[case]
    _check_case(exp, text)
    ex, _ = _stream(text, [3])
    assert ex.finish() == extract(text)


def _check_case(exp: corpus_table.Case, text: str) -> None:
    ex = extract(text)
    assert tuple(b.lang for b in ex.blocks) == exp.blocks, exp.why
    if exp.kind is None:
        assert ex.artifact is None, exp.why
        assert ex.reason == exp.reason
        return
    art = ex.artifact
    assert art is not None, f"{exp.why}: {ex.reason}"
    assert ex.reason == ""
    assert art.kind == exp.kind, exp.why
    assert art.truncated is exp.truncated, exp.why
    assert art.complete is not exp.truncated
    assert tuple(ex.blocks.index(b) for b in art.blocks) == exp.used, exp.why
    for s in exp.has:
        assert s in art.source, f"{s!r} missing: {exp.why}"
    for s in exp.lacks:
        assert s not in art.source, f"{s!r} present: {exp.why}"
    if exp.title is not None:
        assert art.title == exp.title
    for b in art.blocks:
        assert 0 <= b.start <= b.end <= len(text)
    page = standalone_html(art)
    assert "charset" in page.lower()[:2000]


def _stream(text: str, sizes: list[int]) -> tuple[StreamingExtractor, list[Extraction]]:
    ex = StreamingExtractor()
    snaps: list[Extraction] = []
    i = k = 0
    while i < len(text):
        n = sizes[k % len(sizes)]
        k += 1
        ex.feed(text[i : i + n])
        i += n
        snaps.append(ex.snapshot())
    return ex, snaps


def _check_snapshot(text: str, snap: Extraction) -> None:
    art = snap.artifact
    if art is None:
        return
    assert art.truncated is False  # only a final result is truncated
    for b in art.blocks:
        assert b.end <= len(text)
        if b.start < b.end:
            last = text[b.start : b.end].split("\n")[-1]
            assert not _FENCE_PREFIX.match(last), f"partial fence at the end of a block: {last!r}"
    if art.kind == "react" or (len(art.blocks) == 1 and art.blocks[0].tag != "" and art.kind == "svg"):
        last = art.source.split("\n")[-1]
        assert not _FENCE_PREFIX.match(last)


@pytest.mark.parametrize("case", sorted(CASES))
def test_streaming_equals_whole(case: str) -> None:
    text = _read(case)
    whole = extract(text)
    rng = random.Random(case)
    plans = [[1], [7], [rng.randint(1, 40) for _ in range(200)]]
    for sizes in plans:
        ex, snaps = _stream(text, sizes)
        for snap in snaps[:: max(1, len(snaps) // 300)]:
            _check_snapshot(text, snap)
        assert ex.text == text
        assert ex.finish() == whole


@pytest.mark.parametrize("case", sorted(CASES))
def test_streaming_crlf(case: str) -> None:
    text = _read(case).replace("\n", "\r\n")
    whole = extract(text)
    lf = extract(text.replace("\r\n", "\n"))
    assert (whole.artifact is None) == (lf.artifact is None)
    if whole.artifact is not None and lf.artifact is not None:
        assert whole.artifact.kind == lf.artifact.kind
        assert whole.artifact.truncated == lf.artifact.truncated
    # odd sizes split "\r\n" pairs and fence markers
    ex, _ = _stream(text, [2, 3, 5])
    assert ex.finish() == whole


@pytest.mark.parametrize(
    "case", ["26-pacman-claude-opus41-stray-fence", "31-tictactoe-gpt5codex-stray-fence"]
)
def test_stray_fence_never_cuts_the_document_mid_stream(case: str) -> None:
    text = _read(case)
    ex, snaps = _stream(text, [5])
    seam = text.index("```", 10)
    art = snaps[-1].artifact
    assert art is not None and art.blocks[0].end > seam
    assert ex.finish().artifact is not None


def test_think_is_never_shown_while_streaming() -> None:
    text = _read("29-hexagon-balls-aion-think-truncated")
    close = text.index("</think>")
    _ex, snaps = _stream(text[:close], [9])
    assert all(s.artifact is None for s in snaps)
    assert "reasoning" in snaps[-1].reason
