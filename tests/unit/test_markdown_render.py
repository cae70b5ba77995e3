"""Incremental chat markdown: chunked rendering equals one-shot rendering; untrusted HTML stays inert;
the answer layout hides artifact code and thinking."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.core.chat_segments import artifact_range, layout_segments, open_web_fence, think_range
from studio.core.extract import extract
from studio.core.markdown_render import (
    COPY_SCHEME,
    IncrementalRenderer,
    code_key,
    highlight_code,
    render_markdown,
)

VARIED = [
    # loose and tight lists, a numbered list that continues after a blank line
    "Steps:\n\n1. **HTML**:\n   - a\n   - b\n\n2. **CSS**:\n   - c\n\n3. Done\n\nAfter the list.\n",
    # setext headings, a table that becomes a table only on its 2nd line, a blockquote with lazy lines
    "Title\n=====\n\nSub\n---\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\n> quote\nlazy line\n\n> more\n",
    # fences: backticks and tildes, longer closing fences, a fence inside a list, an unclosed one
    "Text\n```python\ndef f():\n    return 1\n```\n\n~~~js\nlet x = 1;\n~~~~\n\n- item\n  ```bash\n"
    "  echo hi\n  ```\n- next\n\n````md\n```\nnested\n```\n````\n\n```css\nbody { color: red }\n",
    # indented code, hr, emphasis, inline code, links (one unsafe), an image, raw html
    "    indented code\n\n    still code\n\n***\n\n*em* **strong** ~~gone~~ `code <b>` "
    "[ok](https://example.com) [bad](javascript:alert(1)) ![pic](http://127.0.0.1:9/x.png)\n\n"
    "<script>alert(1)</script>\n<img src=http://127.0.0.1:9/y.png>\n",
    # a paragraph interrupted by a list, a heading right after a fence, no trailing newline
    "Intro line\n- a\n- b\n```\nraw\n```\n# Heading\ntext at the end",
    # CRLF line ends and a lone CR
    "Line one\r\n\r\n- a\r\n- b\r\n\r\nend\rlast\n",
]


def stream(text: str, rng: random.Random, lo: int = 1, hi: int = 12, check_every: int = 0) -> str:
    """Feed ``text`` in random chunks, rebuilding the HTML the way a view does; return it."""
    renderer = IncrementalRenderer()
    stable: list[str] = []
    tail = ""
    pos = steps = 0
    while pos < len(text):
        pos = min(len(text), pos + rng.randint(lo, hi))
        step = renderer.set_text(text[:pos])
        assert "".join(step.pieces) == step.appended
        if step.reset:
            stable.clear()
        if step.appended:
            stable.append(step.appended)
        tail = step.tail
        steps += 1
        if check_every and steps % check_every == 0:
            assert "".join(stable) + tail == render_markdown(text[:pos]), f"diverged at {pos}"
    assert renderer.html() == "".join(stable) + tail
    return "".join(stable) + tail


@pytest.mark.parametrize("index", range(len(VARIED)))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chunked_equals_one_shot_on_varied_markdown(index: int, seed: int) -> None:
    text = VARIED[index]
    assert stream(text, random.Random(seed), check_every=1) == render_markdown(text)


def test_chunked_equals_one_shot_char_by_char() -> None:
    text = "\n\n".join(VARIED)
    assert stream(text, random.Random(0), lo=1, hi=1, check_every=7) == render_markdown(text)


def test_finished_blocks_become_stable_and_are_not_rerendered() -> None:
    renderer = IncrementalRenderer()
    first = renderer.set_text("# Title\n\nA paragraph.\n\nSec")
    # "Sec" is an incomplete first line, so the block before it stays in the tail too.
    assert first.appended == "<h1>Title</h1>\n"
    assert first.tail == "<p>A paragraph.</p>\n<p>Sec</p>\n"
    second = renderer.set_text("# Title\n\nA paragraph.\n\nSecond line\nand more")
    assert second.appended == "<p>A paragraph.</p>\n" and not second.reset
    assert second.tail == "<p>Second line\nand more</p>\n"
    stable_end = renderer.stable_end
    assert stable_end == len("# Title\n\nA paragraph.\n\n")
    third = renderer.set_text("# Title\n\nA paragraph.\n\nSecond line\nand more text")
    assert third.appended == "" and third.tail == "<p>Second line\nand more text</p>\n"
    assert renderer.stable_end == stable_end


def test_partial_first_line_keeps_the_previous_block_open() -> None:
    # "2" could still become "2. item", which continues (and loosens) the list above it.
    renderer = IncrementalRenderer()
    renderer.set_text("1. one\n   - a\n\n2")
    assert renderer.stable_end == 0
    renderer.set_text("1. one\n   - a\n\n2. two\n")
    assert renderer.html() == render_markdown("1. one\n   - a\n\n2. two\n")


def test_edit_before_the_stable_part_resets() -> None:
    renderer = IncrementalRenderer()
    renderer.set_text("aaa\n\nbbb\n\nccc")
    step = renderer.set_text("xxx\n\nbbb\n\nccc")
    assert step.reset
    assert step.appended + step.tail == render_markdown("xxx\n\nbbb\n\nccc")


@pytest.mark.corpus
def test_corpus_answers_chunked_equal_one_shot(corpus_dir: Path) -> None:
    answers = sorted(p for p in corpus_dir.glob("*.md") if p.name != "README.md")
    assert len(answers) >= 30
    rng = random.Random(42)
    for path in answers:
        text = path.read_text(encoding="utf-8")
        got = stream(text, rng, lo=1, hi=64, check_every=97)
        assert got == render_markdown(text), path.name


def test_raw_html_is_escaped_and_nothing_is_loaded() -> None:
    out = render_markdown(VARIED[3])
    assert "<script" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<img" not in out and "&lt;img src=http://127.0.0.1:9/y.png&gt;" in out
    assert "[image: pic]" in out  # markdown images become their alt text
    assert 'href="https://example.com"' in out
    assert "javascript:" not in out.split("[bad]")[0] and 'href="javascript' not in out
    assert "<code" in out and "code &lt;b&gt;" in out


def test_code_blocks_are_highlighted_labelled_and_copyable() -> None:
    codes: dict[str, str] = {}
    out = render_markdown("```python\ndef f():\n    return 1\n```\n", codes)
    assert "python" in out and f'href="{COPY_SCHEME}' in out
    assert "<span style=" in out  # pygments inline colours
    assert codes == {code_key("def f():\n    return 1\n"): "def f():\n    return 1\n"}
    plain = render_markdown("```nosuchlang\n<b>x</b>\n```\n")
    assert "&lt;b&gt;x&lt;/b&gt;" in plain


def test_highlight_in_chunks_matches_on_plain_code() -> None:
    code = "".join(f"x{i} = {i}\n" for i in range(130))
    out = highlight_code(code, "python")
    text = re.sub(r"<[^>]+>", "", out)
    assert text == code  # every line survives the chunking exactly once


def test_tables_render() -> None:
    out = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert '<table border="1"' in out and "<th>a</th>" in out and "<td>2</td>" in out


# -- answer layout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeBlock:
    """A block with content offsets (what ``studio.core.extract.Block`` carries)."""

    start: int
    end: int
    closed: bool


def test_artifact_range_includes_fence_lines() -> None:
    text = "Intro\n\n```html\n<p>x</p>\n```\n\nAfter\n"
    start = text.index("<p>")
    end = text.index("\n```\n\nAfter") + 1
    s, e = artifact_range(text, FakeBlock(start, end, True))
    assert text[s:e] == "```html\n<p>x</p>\n```\n"
    s, e = artifact_range(text, FakeBlock(start, end - 1, True))  # content end without its newline
    assert text[s:e] == "```html\n<p>x</p>\n```\n"
    # open block: runs to the end of the text
    s, e = artifact_range(text[: start + 4], FakeBlock(start, start + 2, False))
    assert (s, e) == (text.index("```html"), start + 4)


def test_layout_one_card_for_split_blocks_and_prose_between() -> None:
    text = "# Page\n\n```html\n<div></div>\n```\n\nand the style:\n\n```css\ndiv{}\n```\n\n```python\nprint(1)\n```\n"
    blocks = []
    for tag in ("html", "css"):
        start = text.index(f"```{tag}\n") + len(tag) + 4
        blocks.append(FakeBlock(start, text.index("```", start), True))
    segs = layout_segments(text, blocks)
    assert [s.kind for s in segs] == ["md", "card", "md", "md"]
    shown = "".join(text[s.start : s.end] for s in segs if s.kind == "md")
    assert "<div></div>" not in shown and "div{}" not in shown
    assert "and the style:" in shown and "print(1)" in shown


def test_think_is_cut_out() -> None:
    assert think_range("plain") is None
    assert think_range("<thi") == (4, 4, 4, False)  # a tag still arriving hides everything
    text = "<think>plan it</think>\n\nAnswer."
    hidden_end, c_start, c_end, closed = think_range(text)  # type: ignore[misc]
    assert text[c_start:c_end] == "plan it" and closed and text[hidden_end:] == "\n\nAnswer."
    segs = layout_segments(text)
    assert [s.kind for s in segs] == ["think", "md"]
    assert text[segs[1].start : segs[1].end].strip() == "Answer."
    open_segs = layout_segments("<think>still going</thi")
    assert [(s.kind, s.closed) for s in open_segs] == [("think", False)]


def test_provisional_card_for_an_open_html_fence() -> None:
    text = "Here:\n\n```python\nx = 1\n```\n\n```html\n<!DOCTYPE html>\n<p>"
    assert open_web_fence(text) == text.index("```html")
    segs = layout_segments(text, provisional=True)
    assert [s.kind for s in segs] == ["md", "card"]
    assert "<!DOCTYPE" not in text[segs[0].start : segs[0].end]
    assert [s.kind for s in layout_segments(text)] == ["md"]
    assert open_web_fence(text + "\n```\n") is None


@pytest.mark.corpus
def test_corpus_artifact_code_never_reaches_the_markdown(corpus_dir: Path) -> None:
    checked = 0
    for path in sorted(p for p in corpus_dir.glob("*.md") if p.name != "README.md"):
        text = path.read_text(encoding="utf-8")
        artifact = extract(text).artifact
        if artifact is None:
            continue
        segs = layout_segments(text, artifact.blocks)
        assert sum(s.kind == "card" for s in segs) == 1, path.name
        shown = "".join(text[s.start : s.end] for s in segs if s.kind == "md")
        for block in artifact.blocks:
            lines = [ln for ln in text[block.start : block.end].splitlines() if len(ln.strip()) > 30]
            for line in lines[:20]:
                # a long line of artifact code shows up in the chat only if the answer repeats it
                if text.count(line) == 1:
                    assert line not in shown, (path.name, line)
        checked += 1
    assert checked >= 20
