"""The live preview's choices: safe checkpoints, throttling, final renders, versions (no Qt)."""

from __future__ import annotations

import itertools
import re

import pytest

from studio.core.extract import Artifact, Block, extract
from studio.core.livepreview import ArtifactVersions, LivePreview, safe_checkpoint
from tests.gui.scripted import CORPUS, corpus_answer

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no answer corpus at {CORPUS}")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _stream(text: str, size: int, step: float, **kw):  # type: ignore[no-untyped-def]
    clock = Clock()
    renders: list[tuple[float, str, bool]] = []
    preview = LivePreview(lambda art, html, final: renders.append((clock.t, html, final)), clock=clock, **kw)
    for i in range(0, len(text), size):
        preview.feed(text[i : i + size])
        clock.t += step
    return preview, renders


def _html_artifact(source: str, closed: bool, text: str) -> Artifact:
    start = text.index(source[:10])
    block = Block("html", "html", start, start + len(source), closed)
    return Artifact("html", "t", source, closed, False, (block,))


@pytest.mark.parametrize(
    ("partial", "safe"),
    [
        ("<html><body><h1>Hi</h1>", True),
        ("<html><body><h1>Hi</h1>\n  ", True),
        ("<html><body><h1>Hi", False),
        ("<html><body><h1 class=", False),
        ("<html><body><div>", False),  # an element just opened, not closed yet
        ("<html><body><script>let a = 1;</script>", True),
        ("<html><body><script>if (a > b) { x = '<b>' }", False),
        ("<html><body><style>p { color: red }", False),
        ("<html><body><!-- a comment <p>x</p>", False),
        ("<html><body><img src=x />", True),
    ],
)
def test_safe_checkpoint_on_the_raw_text_of_an_open_block(partial: str, safe: bool) -> None:
    text = "Here:\n```html\n" + partial
    art = _html_artifact(partial, False, text)
    assert safe_checkpoint(art, text) is safe


def test_open_css_or_js_blocks_and_react_never_render_mid_stream() -> None:
    text = "```html\n<html><body><p>x</p></body></html>\n```\n```css\np { color:"
    html_block = Block("html", "html", 8, 8 + 38, True)
    css_block = Block("css", "css", text.index("p {"), len(text), False)
    art = Artifact("html", "t", "<html><body><p>x</p></body></html>", False, False, (html_block, css_block))
    assert not safe_checkpoint(art, text)
    react = Artifact("react", "t", "export default () => <p/>", False, False, ())
    assert not safe_checkpoint(react, "")


@needs_corpus
def test_corpus_01_renders_at_checkpoints_throttled_then_final() -> None:
    text = corpus_answer("01")
    preview, renders = _stream(text, 6, 0.02)
    streaming = [r for r in renders if not r[2]]
    assert len(streaming) >= 2
    times = [r[0] for r in streaming]
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(times))
    for _, html, _ in streaming:
        # Never half a script: every <script> opened in the page is closed.
        assert len(re.findall(r"<script\b", html, re.I)) == len(re.findall(r"</script>", html, re.I))
    final = preview.finish()
    assert renders[-1][2] is True
    assert final.artifact is not None and final.artifact.title == "Random Joke Generator"
    assert final == extract(text)
    assert preview.rendered_html == renders[-1][1]


@needs_corpus
def test_a_throttled_checkpoint_is_rendered_on_a_later_batch() -> None:
    text = corpus_answer("01")
    # Fast batches: almost every checkpoint is throttled, yet renders keep coming every 0.3 s.
    preview, renders = _stream(text, 3, 0.01)
    assert len([r for r in renders if not r[2]]) >= 2
    assert preview.renders == len(renders)


@needs_corpus
def test_refusal_never_renders() -> None:
    preview, renders = _stream(corpus_answer("28"), 4, 0.1)
    assert preview.finish().artifact is None
    assert renders == []


@needs_corpus
def test_a_cut_off_artifact_is_not_rendered_as_final_when_asked() -> None:
    text = corpus_answer("01")
    cut = text[: text.index("</script>")]
    preview, renders = _stream(cut, 8, 0.05)
    before = list(renders)
    final = preview.finish(render_partial=False)
    assert final.artifact is not None and final.artifact.truncated
    assert renders == before  # the last good frame stays


@needs_corpus
def test_versions_are_counted_per_answer() -> None:
    versions = ArtifactVersions()
    ex = extract(corpus_answer("01"))
    assert versions.number_for("m1") == 1
    v1 = versions.record("m1", ex)
    v2 = versions.record("m2", ex)
    assert (v1.number, v2.number) == (1, 2)
    assert versions.record("m1", ex).number == 1  # re-recording keeps the number
    assert "Random Joke Generator" in v1.html
    assert versions.get("m2") is v2 and versions.get("nope") is None
    versions.clear()
    assert len(versions) == 0
