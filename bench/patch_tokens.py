"""What a change costs the model to write: a full rewrite against a SEARCH/REPLACE patch (no model run).

Ten realistic edit requests over artifacts of ../shared/corpus (a colour, a speed, a count, a label,
a control, a bug fix), each with a hand-written, correct patch. For each it builds the two answers a
model would write, "a sentence + the whole new file in a fence" and "a sentence + the edit blocks in
a fence", checks that the patch applies (studio.core.patch) and gives the same file as the rewrite,
and counts both answers' tokens with a real tokenizer: a GGUF's vocabulary through llama-cpp
(``--gguf``), else characters / 4. The decode time of a turn is proportional to these counts.
The real-model timings are bench/edit_turns.py's.

Usage::

    PYTHONPATH=. .venv/bin/python bench/patch_tokens.py [--gguf MODEL.gguf] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from pathlib import Path

from studio.core.extract import extract
from studio.core.patch import EditBlock, apply_blocks, parse_blocks

CORPUS = Path(
    os.environ.get("STUDIO_CORPUS_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
)

# (corpus case, request, [(SEARCH, REPLACE), ...]): each SEARCH copied exactly from the artifact.
EDITS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("30", "make the balls blue", [("      background-color: #fff;", "      background-color: #3b82f6;")]),
    (
        "30",
        "make the hexagon spin faster",
        [("      animation: rotate 10s linear infinite;", "      animation: rotate 4s linear infinite;")],
    ),
    (
        "35",
        "twice as much rain",
        [
            (
                "            const rainCount = 200; // Number of raindrops",
                "            const rainCount = 400; // Number of raindrops",
            )
        ],
    ),
    ("34", "make X green", [("  .x {\n    color: red;\n  }", "  .x {\n    color: green;\n  }")]),
    ("26", "make Pac-Man faster", [("            speed: 0.15,", "            speed: 0.22,")]),
    (
        "26",
        "rename the start button to PLAY",
        [
            (
                '            <button onclick="startGame()">START GAME</button>',
                '            <button onclick="startGame()">PLAY</button>',
            )
        ],
    ),
    (
        "22",
        "make the dominoes red",
        [
            (
                "        const dominoMaterial = new THREE.MeshPhongMaterial({ color: 0xffffff });",
                "        const dominoMaterial = new THREE.MeshPhongMaterial({ color: 0xe53935 });",
            )
        ],
    ),
    (
        "01",
        "add a fifth joke",
        [
            (
                '                "Why did the scarecrow win an award? Because he was outstanding in his field!"\n'
                "            ];",
                '                "Why did the scarecrow win an award? Because he was outstanding in his field!",\n'
                '                "What do you call a fake noodle? An impasta!"\n'
                "            ];",
            )
        ],
    ),
    (
        "24",
        "slow the dominoes down",
        [
            (
                "    const fallDuration = 0.75;            // seconds per domino",
                "    const fallDuration = 1.5;             // seconds per domino",
            )
        ],
    ),
    (
        "36",
        "fix: the bot's answer can be missing; show a clear message then",
        [
            (
                "                    botMessage.textContent = response.data.output; // Assuming API returns this field",
                "                    botMessage.textContent = response.data?.output ?? 'The model sent no answer.';",
            ),
            (
                "                    console.error('Error during API call:', error);",
                "                    console.warn('Error during API call:', error);",
            ),
        ],
    ),
]


def source_of(case: str, corpus: Path) -> str:
    matches = sorted(corpus.glob(f"{case}-*.md"))
    if not matches:
        raise SystemExit(f"no corpus case {case} in {corpus} (set STUDIO_CORPUS_DIR or --corpus)")
    art = extract(matches[0].read_text(encoding="utf-8")).artifact
    assert art is not None, case
    return art.source


def patch_answer(blocks: list[tuple[str, str]]) -> str:
    body = "".join(f"<<<<<<< SEARCH\n{s}\n=======\n{r}\n>>>>>>> REPLACE\n" for s, r in blocks)
    return f"Here are the edits.\n\n```html\n{body}```\n"


def full_answer(source: str) -> str:
    return f"Here is the updated page.\n\n```html\n{source.rstrip()}\n```\n"


def tokenizer(gguf: str | None) -> tuple[Callable[[str], int], str]:
    """A token counter: the GGUF's vocabulary through llama-cpp, else characters / 4."""
    if gguf:
        from llama_cpp import Llama

        llm = Llama(model_path=gguf, vocab_only=True, verbose=False)
        return (lambda text: len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))), Path(
            gguf
        ).name
    return (lambda text: max(1, len(text) // 4)), "characters / 4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", default=None, help="count tokens with this model's vocabulary")
    ap.add_argument("--corpus", default=str(CORPUS), help="the corpus folder")
    args = ap.parse_args()
    count, name = tokenizer(args.gguf)
    print(f"tokens counted with: {name}\n")
    print(
        f"{'case':<5}{'request':<48}{'file KB':>8}{'rewrite tok':>12}{'patch tok':>10}{'ratio':>8}  applied"
    )
    ratios = []
    for case, request, pairs in EDITS:
        source = source_of(case, Path(args.corpus))
        blocks = [EditBlock(s, r) for s, r in pairs]
        answer = patch_answer(pairs)
        assert parse_blocks(answer) == blocks, request
        result = apply_blocks(source, blocks)
        new = result.text
        expected = source
        for s, r in pairs:
            assert expected.count(s) == 1, f"{request}: SEARCH not unique"
            expected = expected.replace(s, r)
        ok = result.ok and new == expected
        full_tok, patch_tok = count(full_answer(new)), count(answer)
        ratio = full_tok / patch_tok
        ratios.append(ratio)
        print(
            f"{case:<5}{request[:46]:<48}{len(source.encode()) / 1024:>8.1f}{full_tok:>12}{patch_tok:>10}"
            f"{ratio:>7.1f}x  {'yes' if ok else 'NO'}"
        )
    print(
        f"\nmedian ratio: {statistics.median(ratios):.1f}x   (min {min(ratios):.1f}x, max {max(ratios):.1f}x)"
    )


if __name__ == "__main__":
    main()
