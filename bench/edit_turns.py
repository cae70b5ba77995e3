"""Edit turns on a real model: full rewrite vs patch, prompt lookup, the saved system prompt.

Runs the llama.cpp engine on a real GGUF model (SmolLM2-135M-Instruct in development) over edit
requests on corpus artifacts (change a colour, add a control, fix a bug, rename a label, change a
speed). Each request is the second turn of a conversation whose first answer is the corpus
artifact. Greedy decoding throughout, so every figure is reproducible up to timing noise.

Table 1, per request:

* ``full`` / ``patch``: tokens generated and wall seconds with today's rule 8 ("answer with the
  complete updated file") and with the patch rule (SEARCH/REPLACE blocks); both without prompt
  lookup. ``applied``: whether studio.core.patch applied the blocks ("n/a" until it is installed).
* ``tok/s off`` / ``tok/s on``: decode tokens per second of the full rewrite without and with
  prompt lookup; ``same``: the greedy outputs are identical; ``acc``: draft tokens accepted/drafted.

Table 2: time to first token of a new conversation (a new engine object: a restart) without and
with the saved system-prompt state, median of ``--reps``.

Run: ``.venv/bin/python bench/edit_turns.py --model SmolLM2-135M-Instruct.Q4_1.gguf
[--max-tokens 768] [--only 3] [--corpus DIR]``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.core.extract import extract
from studio.core.prompts import system_prompt
from studio.engine.base import ChatMessage, Completion, GenerationParams, collect

FULL_RULE = "8. When the user asks for a change, answer with the complete updated file again, not a diff."

# (corpus answer, edit request, kind); "bug" requests get BUGS applied to the source first.
REQUESTS = [
    ("30-hexagon-balls-claude3haiku", "Make gravity stronger: change it from 0.5 to 0.8.", "speed"),
    (
        "30-hexagon-balls-claude3haiku",
        "Make the page background dark blue (#001133) instead of black.",
        "colour",
    ),
    ("01-joke-site-gpt4", "Change the button label to 'Tell me a joke'.", "label"),
    (
        "01-joke-site-gpt4",
        "Add a 'Clear' button next to the joke button that empties the joke text.",
        "control",
    ),
    (
        "01-joke-site-gpt4",
        "Clicking the button does nothing: it calls generateJokes() but the function is generateJoke(). Fix it.",
        "bug",
    ),
    ("09-svg-impossible-triangle-gpt4", "Draw the strokes in red instead of black.", "colour"),
    (
        "12-glowing-text-o3mini-dashed-separators",
        "Make the text colour gold instead of white (#fff).",
        "colour",
    ),
    ("34-tictactoe-gemma3-leading-newlines", "Show the O marks in green instead of blue.", "colour"),
    ("34-tictactoe-gemma3-leading-newlines", "Rename the heading to 'Noughts and Crosses'.", "label"),
    (
        "18-css-slideshow-claude-instant-labeled-unfenced",
        "Rename the buttons to 'Previous' and 'Next slide'.",
        "label",
    ),
    ("35-rainstorm-gemini25pro", "Make the rain fall twice as fast.", "speed"),
    ("22-domino-threejs-claude35", "Make the dominoes red (0xff0000) instead of white.", "colour"),
]
BUGS = {"01-joke-site-gpt4": ('onclick="generateJoke()"', 'onclick="generateJokes()"')}
NEW_CHAT = "Make a bouncing ball game with a score."


def rule8(text: str, rule: str) -> str:
    """The system prompt with its rule 8 (up to the closing paragraph) replaced by ``rule``."""
    out, n = re.subn(r"^8\. .*?(?=\n\nBefore the code block)", lambda _: rule, text, flags=re.S | re.M)
    if n != 1:
        raise SystemExit("the system prompt has no rule 8 to replace")
    return out


def load_patch() -> Any:
    try:
        from studio.core import patch
    except ImportError:
        return None
    return patch


@dataclass
class Row:
    name: str
    kind: str
    full: Completion
    full_s: float
    patch: Completion
    patch_s: float
    applied: str
    lookup: Completion
    same: bool
    stats: Any


def timed(engine: Any, messages: list[ChatMessage], params: GenerationParams) -> tuple[Completion, float]:
    t0 = time.perf_counter()
    done = collect(engine.stream_chat(messages, params))
    if done.finish_reason == "error":
        raise SystemExit(f"the engine failed: {done.last.error}")
    return done, time.perf_counter() - t0


def conversation(corpus: Path, name: str, request: str, system: str) -> list[ChatMessage]:
    answer = (corpus / f"{name}.md").read_text(encoding="utf-8")
    first = json.loads((corpus / f"{name}.json").read_text(encoding="utf-8"))["prompt"]
    artifact = extract(answer).artifact
    if artifact is None:
        raise SystemExit(f"{name}: no artifact in the corpus answer")
    source = artifact.source
    if name in BUGS and "Fix" in request:
        source = source.replace(*BUGS[name])
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": first},
        {"role": "assistant", "content": f"```html\n{source}\n```"},
        {"role": "user", "content": request},
    ]


def run_requests(args: argparse.Namespace, full_sys: str, patch_sys: str) -> list[Row]:
    from studio.engine.llamacpp import LlamaCppEngine

    patch = load_patch()
    params = GenerationParams(temperature=0.0, max_tokens=args.max_tokens)
    rows = []
    with LlamaCppEngine(prompt_lookup=False) as plain, LlamaCppEngine(prompt_lookup=True) as spec:
        plain.load(args.model)
        spec.load(args.model)
        for name, request, kind in REQUESTS[: args.only or None]:
            full_msgs = conversation(args.corpus, name, request, full_sys)
            full, full_s = timed(plain, full_msgs, params)
            lookup, _ = timed(spec, full_msgs, params)
            stats = spec.draft_stats
            pat, patch_s = timed(plain, conversation(args.corpus, name, request, patch_sys), params)
            applied = "n/a"
            if patch is not None:
                blocks = patch.parse_blocks(pat.text)
                source = extract(full_msgs[2]["content"]).artifact
                ok = bool(blocks) and source is not None and patch.apply_blocks(source.source, blocks).ok
                applied = f"{'yes' if ok else 'no'} ({len(blocks)})"
            rows.append(
                Row(
                    name[:2],
                    kind,
                    full,
                    full_s,
                    pat,
                    patch_s,
                    applied,
                    lookup,
                    lookup.text == full.text,
                    stats,
                )
            )
            print(f"  {name} / {kind}: done", file=sys.stderr, flush=True)
    return rows


def ttft(args: argparse.Namespace, system: str, state_dir: Path | None) -> list[float]:
    from studio.engine.llamacpp import LlamaCppEngine

    msgs: list[ChatMessage] = [{"role": "system", "content": system}, {"role": "user", "content": NEW_CHAT}]
    out = []
    for _ in range(args.reps):
        with LlamaCppEngine(prompt_state_dir=state_dir) as eng:  # a new engine: as after a restart
            eng.load(args.model)
            done = collect(eng.stream_chat(msgs, GenerationParams(temperature=0.0, max_tokens=1)))
            assert done.last.ttft is not None
            out.append((done.last.ttft, done.last.prefilled_tokens, done.last.prompt_tokens))
    return out  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a GGUF file (SmolLM2-135M-Instruct)")
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    ap.add_argument("--max-tokens", type=int, default=768, help="cap per answer (full rewrites hit it)")
    ap.add_argument("--only", type=int, default=0, help="the first N requests only")
    ap.add_argument("--reps", type=int, default=3, help="new-conversation runs per TTFT figure")
    args = ap.parse_args()
    base = system_prompt()
    full_sys, patch_sys = rule8(base, FULL_RULE), base  # the app's own prompt asks for edits

    rows = run_requests(args, full_sys, patch_sys)
    print(f"\nEdit turns, {Path(args.model).name}, llama.cpp, greedy, cap {args.max_tokens} tokens")
    head = (
        f"{'#':>2} {'kind':<7} {'full tok':>8} {'full s':>7} {'patch tok':>9} {'patch s':>7} {'fewer':>6} "
        f"{'applied':>8} {'tok/s off':>9} {'tok/s on':>8} {'speedup':>7} {'same':>4} {'acc':>9}"
    )
    print(head)
    print("-" * len(head))
    ratios, speedups = [], []
    for r in rows:
        ft, pt = r.full.last.generated_tokens, r.patch.last.generated_tokens
        ratio = ft / max(pt, 1)
        speed = r.lookup.last.tps / max(r.full.last.tps, 1e-9)
        ratios.append(ratio)
        speedups.append(speed)
        cap = "*" if r.full.finish_reason == "length" else " "
        print(
            f"{r.name:>2} {r.kind:<7} {ft:>7}{cap} {r.full_s:>7.1f} {pt:>9} {r.patch_s:>7.1f} {ratio:>5.1f}x "
            f"{r.applied:>8} {r.full.last.tps:>9.1f} {r.lookup.last.tps:>8.1f} {speed:>6.2f}x "
            f"{'yes' if r.same else 'NO':>4} {r.stats.accepted:>4}/{r.stats.drafted:<4}"
        )
    print(f"median: {statistics.median(ratios):.1f}x fewer tokens with a patch (target >= 5x); ", end="")
    print(f"prompt lookup {statistics.median(speedups):.2f}x decode tok/s (target >= 1.5x)")
    print("* the full rewrite hit the token cap")

    with tempfile.TemporaryDirectory() as tmp:
        today = ttft(args, full_sys, None)
        ttft(args, full_sys, Path(tmp))  # the first run saves the state (its TTFT is today's)
        saved = ttft(args, full_sys, Path(tmp))
    print(f"\nNew conversation, time to first token (median of {args.reps}, new engine each run)")
    print(f"{'':<22} {'TTFT s':>7} {'prefilled':>9} {'prompt':>7}")
    for label, runs in (("today (no saved state)", today), ("saved system prompt", saved)):
        med = statistics.median(t for t, _, _ in runs)
        print(f"{label:<22} {med:>7.3f} {runs[0][1]:>9} {runs[0][2]:>7}")
    share = statistics.median(t for t, _, _ in saved) / statistics.median(t for t, _, _ in today)
    print(f"saved / today: {share:.0%} (target <= 25%)")


if __name__ == "__main__":
    main()
