"""Patch turns: streaming application, the outcome of an answer, and the multi-turn flow (no Qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.core.extract import extract
from studio.core.patchturn import FALLBACK_OPENING, PatchTurn, TurnFlow, fallback_prompt

CORPUS = Path(os.environ.get("STUDIO_CORPUS_DIR") or Path(__file__).parents[2].parent / "shared" / "corpus")


def corpus_answer(prefix: str) -> str:
    matches = sorted(CORPUS.glob(f"{prefix}-*.md"))
    if not matches:
        pytest.skip(f"corpus not found at {CORPUS} (set STUDIO_CORPUS_DIR)")
    return matches[0].read_text(encoding="utf-8")


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


BLUE = block(
    "      background-color: #fff;\n    }\n\n    .hexagon {",
    "      background-color: #3b82f6;\n    }\n\n    .hexagon {",
)
MORE = block("    const numBalls = 20;", "    const numBalls = 40;")
MISSING = block("    const friction = 0.99;", "    const friction = 0.9;")
PATCH = "Blue balls, and more of them:\n\n```html\n" + BLUE + MORE + "```\n"


def base():
    art = extract(corpus_answer("30")).artifact
    assert art is not None
    return art


def stream(turn: PatchTurn, text: str, size: int = 7) -> list:
    return [r for i in range(0, len(text), size) if (r := turn.feed(text[i : i + size])) is not None]


def test_blocks_apply_as_they_stream_and_every_step_is_a_whole_page() -> None:
    art = base()
    turn = PatchTurn(art)
    steps = stream(turn, PATCH)
    assert turn.is_patch and len(steps) == 2  # one intermediate result per completed block
    assert "#3b82f6" in steps[0].text and "numBalls = 20" in steps[0].text
    assert "#3b82f6" in steps[1].text and "numBalls = 40" in steps[1].text
    for step in steps:
        assert step.ok and "<<<<<<<" not in step.text and step.text.rstrip().endswith("</html>")
    outcome = turn.finish()
    assert outcome.mode == "patch" and outcome.artifact is not None
    assert outcome.artifact.source == steps[-1].text
    assert outcome.artifact.kind == art.kind and outcome.artifact.title == art.title
    assert outcome.summary() == "2 edits, +2 \u22122 lines"


def test_a_failing_block_stops_intermediate_results_and_fails_the_whole_patch() -> None:
    art = base()
    turn = PatchTurn(art)
    steps = stream(turn, BLUE + MISSING + MORE)
    assert len(steps) == 1 and turn.broken  # the first block showed; nothing after the failure
    outcome = turn.finish()
    assert outcome.mode == "failed" and outcome.artifact is None
    assert outcome.result is not None and outcome.result.text == art.source
    assert [b.search for b, _r in outcome.result.failed] == ["    const friction = 0.99;"]
    assert outcome.summary() == "1 of 3 edits failed"


def test_a_full_answer_with_a_current_artifact_is_a_full_turn() -> None:
    turn = PatchTurn(base())
    assert stream(turn, corpus_answer("35")) == []
    outcome = turn.finish()
    assert not turn.is_patch and outcome.mode == "full" and outcome.artifact is not None
    assert "rain" in outcome.artifact.source.lower()


def test_edit_blocks_without_an_artifact_make_nothing() -> None:
    turn = PatchTurn(None)
    stream(turn, PATCH)
    assert turn.finish().mode == "none"
    prose = PatchTurn(base())
    prose.feed("The balls bounce because of the gravity variable.")
    assert prose.finish().mode == "none"


def test_fallback_prompt_reports_each_failed_block_with_its_text() -> None:
    turn = PatchTurn(base())
    turn.feed(MISSING)
    outcome = turn.finish()
    assert outcome.result is not None
    text = fallback_prompt(outcome.result, "html")
    assert text.startswith(FALLBACK_OPENING)
    assert "the SEARCH text matches nothing in the current file" in text
    assert "    const friction = 0.99;" in text
    assert "complete updated file in one ```html code block" in text


class Answers:
    """The model's answers in order, and the messages each was asked with."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[list[dict]] = []
        self.prompts: list[str] = []

    def __call__(self, messages: list, prompt: str) -> str:
        self.asked.append([dict(m) for m in messages])
        self.prompts.append(prompt)
        return self.answers.pop(0)


def test_flow_full_then_patch_then_the_next_turn_carries_the_current_source() -> None:
    first = corpus_answer("30")
    answers = Answers(first, PATCH, block("    let gravity = 0.5;", "    let gravity = 0.2;"))
    flow = TurnFlow("SYSTEM")
    r1 = flow.run(1, "balls in a hexagon", answers)
    assert r1.mode == "full" and flow.artifact is not None
    r2 = flow.run(2, "make the balls blue and twice as many", answers)
    assert (r2.mode, r2.applied, r2.failed, r2.added, r2.removed) == ("patch", 2, [], 2, 2)
    assert answers.asked[1][-1]["content"] == "make the balls blue and twice as many"  # it has turn 1
    r3 = flow.run(3, "weaker gravity", answers)
    assert r3.mode == "patch"
    asked = answers.asked[2][-1]["content"]
    assert asked.startswith("The current version of the artifact") and asked.endswith("weaker gravity")
    assert "#3b82f6" in asked and "numBalls = 40" in asked  # the patched source, not turn 1's
    assert flow.artifact.source.count("let gravity = 0.2;") == 1
    assert [m["role"] for m in flow.messages] == ["system", "user", "assistant"] * 1 + [
        "user",
        "assistant",
    ] * 2


def test_flow_failed_edits_ask_once_for_the_complete_file() -> None:
    first = corpus_answer("30")
    rewrite = first.replace("numBalls = 20", "numBalls = 33")
    answers = Answers(first, BLUE + MISSING, rewrite)
    seen, made = [], []
    flow = TurnFlow("SYSTEM")
    flow.run(1, "balls", answers, content="balls (with data)", on_outcome=made.append)
    assert answers.asked[0][-1]["content"] == "balls (with data)" and answers.prompts[0] == "balls"
    before = flow.artifact
    report = flow.run(
        2, "blue balls, less friction", answers, on_fallback=seen.append, on_outcome=made.append
    )
    assert [o.mode for o in made] == ["full", "failed", "full"]
    assert answers.prompts[2].startswith(FALLBACK_OPENING)
    assert report.mode == "fallback" and report.fallback_ok is True
    assert report.applied == 1 and report.failed == [
        {
            "reason": "the SEARCH text matches nothing in the current file",
            "search": "    const friction = 0.99;",
        }
    ]
    assert len(seen) == 1 and seen[0].mode == "failed"
    assert answers.asked[2][-1]["content"].startswith(FALLBACK_OPENING)
    assert (
        flow.artifact is not None and flow.artifact is not before and "numBalls = 33" in flow.artifact.source
    )
    assert answers.answers == []  # exactly one fallback


def test_flow_a_fallback_without_a_file_keeps_the_current_version() -> None:
    first = corpus_answer("30")
    answers = Answers(first, MISSING, "Sorry, I cannot do that.")
    flow = TurnFlow("SYSTEM")
    flow.run(1, "balls", answers)
    before = flow.artifact
    report = flow.run(2, "less friction", answers)
    assert report.mode == "fallback" and report.fallback_ok is False and flow.artifact is before


def test_the_chat_shows_edit_blocks_as_one_patch_segment_while_they_stream() -> None:
    from studio.core.chat_segments import layout_segments

    text = PATCH + "\nThat is all."
    kinds = [(s.kind, text[s.start : s.end].strip()[:12]) for s in layout_segments(text)]
    assert kinds == [("md", "Blue balls, "), ("patch", "```html\n<<<<"), ("md", "That is all.")]
    head = text.index("<<<<<<< SEARCH") + len("<<<<<<< SEARCH")
    for cut in range(head, len(text) + 1):  # never an artifact card, never the blocks as markdown
        segs = layout_segments(text[:cut], provisional=True)
        assert [s.kind for s in segs][:2] == ["md", "patch"] and "card" not in [s.kind for s in segs]
        assert all("=======" not in text[s.start : s.end] for s in segs if s.kind == "md")


def test_an_answer_cut_off_inside_a_block_is_a_failed_patch() -> None:
    art = base()
    turn = PatchTurn(art)
    cut = BLUE + MORE[: MORE.index("=======") + 12]  # the last block stops in its REPLACE part
    assert len(stream(turn, cut)) == 1  # the first block showed while streaming
    outcome = turn.finish()
    assert outcome.mode == "failed" and outcome.result is not None and outcome.result.text == art.source
    assert outcome.result.applied == 1
    ((block_, reason),) = outcome.result.failed
    assert reason == "the answer ended inside this edit block" and block_.search == "    const numBalls = 20;"
    assert "the answer ended inside this edit block" in fallback_prompt(outcome.result)
