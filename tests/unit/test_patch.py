"""SEARCH/REPLACE parsing, streaming and applying, on artifacts of the real corpus (no Qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.core.extract import extract
from studio.core.patch import EditBlock, PatchStream, apply_blocks, looks_like_patch, parse_blocks

CORPUS = Path(os.environ.get("STUDIO_CORPUS_DIR") or Path(__file__).parents[2].parent / "shared" / "corpus")


def corpus_source(prefix: str) -> str:
    """The artifact source of a corpus answer (e.g. "30": the hexagon balls)."""
    matches = sorted(CORPUS.glob(f"{prefix}-*.md"))
    if not matches:
        pytest.skip(f"corpus not found at {CORPUS} (set STUDIO_CORPUS_DIR)")
    art = extract(matches[0].read_text(encoding="utf-8")).artifact
    assert art is not None
    return art.source


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


BALLS_COLOUR = block(
    "      background-color: #fff;\n    }\n\n    .hexagon {",
    "      background-color: #3b82f6;\n    }\n\n    .hexagon {",
)
BALLS_COUNT = block("    const numBalls = 20;", "    const numBalls = 40;")
ANSWER = (
    "Here are the changes:\n\n```html\n"
    + BALLS_COLOUR
    + "```\n\nand\n\n"
    + BALLS_COUNT
    + "\nDone: blue balls, twice as many."
)


def test_parse_fenced_and_bare_blocks_in_one_answer() -> None:
    blocks = parse_blocks(ANSWER)
    assert blocks == [
        EditBlock(
            "      background-color: #fff;\n    }\n\n    .hexagon {",
            "      background-color: #3b82f6;\n    }\n\n    .hexagon {",
        ),
        EditBlock("    const numBalls = 20;", "    const numBalls = 40;"),
    ]
    assert looks_like_patch(ANSWER)
    assert not looks_like_patch("```html\n<!DOCTYPE html>\n<p>=======</p>\n</html>\n```")
    assert not looks_like_patch("Sure, here it is: <<<<<<< SEA")


def test_parse_ignores_an_unfinished_block_and_keeps_empty_sections() -> None:
    text = block("a", "") + "<<<<<<< SEARCH\nb\n=======\nc\n"
    assert parse_blocks(text) == [EditBlock("a", "")]
    stream = PatchStream()
    stream.feed(text)
    assert stream.in_block


def test_exact_blocks_apply_in_order_to_a_corpus_artifact() -> None:
    src = corpus_source("30")
    result = apply_blocks(src, parse_blocks(ANSWER))
    assert result.ok and result.applied == 2 and result.failed == []
    assert "background-color: #3b82f6;" in result.text and "const numBalls = 40;" in result.text
    assert result.text.count("background-color: #fff;") == 0
    assert (result.added, result.removed) == (2, 2)
    assert result.how == ["exact", "exact"]
    assert result.summary() == "2 edits, +2 \u22122 lines"
    # nothing else moved
    assert result.text.replace("#3b82f6", "#fff").replace("= 40;", "= 20;") == src


def test_whitespace_tolerant_block_is_reindented_by_the_offset_found() -> None:
    src = corpus_source("30")
    # The model dropped the indentation and squashed spaces; its new line is indented like its SEARCH.
    answer = block(
        "function changeGravityDirection() {\n  gravity  *= -1;\n}",
        "function changeGravityDirection() {\n  gravity *= -1;\n  hexagon.style.borderColor = gravity > 0 ? '#fff' : '#f43f5e';\n}",
    )
    result = apply_blocks(src, parse_blocks(answer))
    assert result.ok and result.how == ["whitespace"]
    assert (
        "    function changeGravityDirection() {\n      gravity *= -1;\n"
        "      hexagon.style.borderColor = gravity > 0 ? '#fff' : '#f43f5e';\n    }\n"
    ) in result.text
    assert (result.added, result.removed) == (1, 0)


def test_over_indented_block_is_moved_left() -> None:
    src = "<script>\n  let speed = 2;\n  go(speed);\n</script>\n"
    result = apply_blocks(
        src, [EditBlock("        let speed = 2;", "        let speed = 5;\n        let pause = false;")]
    )
    assert (
        result.ok
        and result.text == "<script>\n  let speed = 5;\n  let pause = false;\n  go(speed);\n</script>\n"
    )


def test_close_match_fixes_a_miscopied_line() -> None:
    src = corpus_source("30")
    # One word is miscopied ("bounce" for "vy"): no exact or whitespace match, a close one.
    answer = block(
        "        if (ball.offsetTop <= 0 || ball.offsetTop >= window.innerHeight - 20) {\n"
        "          ball.bounce *= -1;\n        }",
        "        if (ball.offsetTop <= 0 || ball.offsetTop >= window.innerHeight - 20) {\n"
        "          ball.vy *= -0.8;\n        }",
    )
    result = apply_blocks(src, parse_blocks(answer))
    assert result.ok and result.how == ["close"]
    assert "ball.vy *= -0.8;" in result.text and result.text.count("ball.vy *= -1;") == 0
    assert "ball.vx *= -1;" in result.text


def test_ambiguous_block_fails_with_its_places_and_nothing_changes() -> None:
    src = corpus_source("30")
    answer = block("        }", "        } // end") + BALLS_COUNT
    result = apply_blocks(src, parse_blocks(answer))
    assert not result.ok and result.text == src
    assert result.applied == 1 and len(result.failed) == 1
    failed, reason = result.failed[0]
    assert failed.search == "        }"
    assert "matches" in reason and "places" in reason and "lines" in reason
    assert (result.added, result.removed) == (0, 0)


def test_not_found_block_fails_all_or_nothing() -> None:
    src = corpus_source("35")
    answer = block("const thunder = new Audio('boom.mp3');", "const thunder = null;")
    first = parse_blocks(BALLS_COUNT)[0]
    result = apply_blocks(src, [*parse_blocks(answer), first])
    assert not result.ok and result.text == src
    assert [r for _b, r in result.failed] == [
        "the SEARCH text matches nothing in the current file",
        "the SEARCH text matches nothing in the current file",
    ]
    assert result.summary() == "2 of 2 edits failed"


def test_a_later_block_edits_what_an_earlier_one_wrote() -> None:
    src = "<p>one</p>\n<p>two</p>\n"
    result = apply_blocks(
        src, [EditBlock("<p>one</p>", "<p>uno</p>"), EditBlock("<p>uno</p>", "<p>eins</p>")]
    )
    assert result.ok and result.text == "<p>eins</p>\n<p>two</p>\n"


def test_substring_inside_a_line_and_deleting_lines() -> None:
    src = corpus_source("30")
    result = apply_blocks(
        src, [EditBlock("rotate 10s linear", "rotate 4s linear"), EditBlock("    let gravity = 0.5;", "")]
    )
    assert result.ok and result.how == ["substring", "exact"]
    assert "animation: rotate 4s linear infinite;" in result.text and "let gravity" not in result.text
    assert (result.added, result.removed) == (1, 2)


def test_crlf_source_and_answer_keep_the_file_crlf() -> None:
    src = corpus_source("30").replace("\n", "\r\n")
    answer = BALLS_COUNT.replace("\n", "\r\n")
    result = apply_blocks(src, parse_blocks(answer))
    assert result.ok and "const numBalls = 40;\r\n" in result.text
    assert "\n" not in result.text.replace("\r\n", "")
    assert result.text.replace("= 40;", "= 20;") == src


def test_empty_search_only_fills_an_empty_file() -> None:
    assert apply_blocks("", [EditBlock("", "<p>hi</p>")]).text == "<p>hi</p>\n"
    bad = apply_blocks("<p>x</p>", [EditBlock("", "<p>hi</p>")])
    assert not bad.ok and bad.failed[0][1] == "the SEARCH section is empty"


def test_no_blocks_is_not_a_patch() -> None:
    result = apply_blocks("<p>x</p>", [])
    assert not result.ok and result.failed == [] and result.text == "<p>x</p>"


def test_a_large_corpus_artifact_with_several_blocks() -> None:
    src = corpus_source("26")  # pacman, 26 KB
    lines = src.splitlines()
    picks = [ln for ln in lines if ln.strip().startswith(("const ", "let ")) and src.count(ln) == 1][:3]
    assert len(picks) == 3
    blocks = [EditBlock(p, p + " // edited") for p in picks]
    result = apply_blocks(src, blocks)
    assert result.ok and result.applied == 3 and (result.added, result.removed) == (3, 3)


@pytest.mark.parametrize("crlf", [False, True])
def test_streamed_blocks_split_at_every_offset_equal_the_whole_parse(crlf: bool) -> None:
    text = ANSWER.replace("\n", "\r\n") if crlf else ANSWER
    whole = parse_blocks(text)
    assert len(whole) == 2
    for cut in range(len(text) + 1):
        stream = PatchStream()
        got = stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.finish()
        assert got == whole, cut


def test_stream_yields_each_block_when_its_replace_line_ends() -> None:
    stream = PatchStream()
    seen: list[int] = []
    for i, ch in enumerate(ANSWER):
        if stream.feed(ch):
            seen.append(i)
    ends = [i for i in range(len(ANSWER)) if ANSWER.startswith(">>>>>>> REPLACE\n", i)]
    assert seen == [e + len(">>>>>>> REPLACE") for e in ends]
    assert stream.finish() == []


def test_last_replace_line_without_newline_completes_at_finish() -> None:
    text = BALLS_COUNT.rstrip("\n")
    stream = PatchStream()
    assert stream.feed(text) == []
    assert stream.finish() == [EditBlock("    const numBalls = 20;", "    const numBalls = 40;")]


def test_tab_indented_search_against_a_space_indented_file() -> None:
    src = "<script>\n    let a = 1;\n    let b = 2;\n</script>\n"
    result = apply_blocks(src, [EditBlock("\tlet a = 1;\n\tlet b = 2;", "\tlet a = 10;\n\tlet b = 2;")])
    assert result.ok and result.how == ["whitespace"]
    assert result.text == "<script>\n    let a = 10;\n    let b = 2;\n</script>\n"


def test_close_match_in_a_large_file_finds_the_miscopied_block() -> None:
    src = corpus_source("26")  # 26 KB
    lines = src.splitlines()
    mid = len(lines) // 2
    near = "\n".join(lines[mid : mid + 8]).replace("e", "E", 3)  # three miscopied letters
    result = apply_blocks(src, [EditBlock(near, "// replaced")])
    assert result.ok and result.how == ["close"] and "// replaced" in result.text
    assert result.removed == 8 and result.added == 1
    nowhere = "\n".join(f"    let q{i} = compute{i}(alpha, beta);" for i in range(8))
    assert not apply_blocks(src, [EditBlock(nowhere, "x")]).ok
