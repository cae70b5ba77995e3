"""What the app's streaming path costs: raw mlx_lm.stream_generate vs MLXEngine.stream_chat.

On one model, in one process, interleaved repetitions of:

* raw: ``mlx_lm.stream_generate`` on this thread (mlx-lm's own loop, nothing else);
* engine: ``MLXEngine.stream_chat`` (worker thread + queue), consumed on this thread;
* engine+extract: the same, with ``StreamingExtractor.feed`` + ``snapshot`` on every chunk
  (the extractor is primed with an open ```html fence, so every chunk extends a live artifact).

Decode tok/s is measured where the tokens arrive (first to last token, wall clock); greedy
decoding, a fixed seed and eos ignored make every run generate the same tokens. The ratio to raw
is the overhead budget (target >= 0.97). Then turn-2 prefill with and without the prompt cache.

Run: ``.venv/bin/python bench/engine_overhead.py [--model PATH] [--reps 5] [--max-tokens 128]``
(without --model a tiny Qwen2 is built in a temp folder: ``--preset bench`` (default) has 8 layers,
hidden 640, ~147 MB; ``--preset tiny`` is so small that Python per-token costs dominate: a stress test).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.extract import StreamingExtractor
from studio.engine.base import ChatMessage, GenerationParams, collect
from studio.engine.mlx import MLXEngine

REPO = Path(__file__).resolve().parents[1]
ASK: list[ChatMessage] = [{"role": "user", "content": "Make a bouncing ball animation as one HTML file."}]
PRIMER = (
    "Here is a bouncing ball animation in a single HTML file.\n\n```html\n<!DOCTYPE html>\n<html>\n"
    "<head>\n<style>\n  body { margin: 0; background: #111; }\n</style>\n</head>\n<body>\n"
    "<canvas id='c'></canvas>\n<script>\n"
)


def build_bench_model(dest: Path, preset: str) -> Path:
    spec = importlib.util.spec_from_file_location("tiny_model", REPO / "tests" / "fixtures" / "tiny_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tiny_model"] = module
    spec.loader.exec_module(module)
    return module.cached_tiny_model(dest, spec=module.PRESETS[preset])


Stamp = tuple[float, float]  # (wall clock, process CPU time) when a token arrived


def stamp() -> Stamp:
    return time.perf_counter(), time.process_time()


def decode_rates(stamps: list[Stamp]) -> tuple[float, float]:
    """(tokens per wall second, CPU ms per token) between the first and the last token."""
    n = len(stamps) - 1
    wall = stamps[-1][0] - stamps[0][0]
    cpu = stamps[-1][1] - stamps[0][1]
    return n / wall, 1000 * cpu / n


def run_raw(model: Any, tokenizer: Any, prompt: list[int], max_tokens: int) -> tuple[float, float, int]:
    import mlx.core as mx
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    mx.random.seed(0)
    stamps: list[Stamp] = []
    for r in stream_generate(model, tokenizer, prompt, max_tokens=max_tokens, sampler=make_sampler(0.0)):
        stamps.append(stamp())
        last = r
    return *decode_rates(stamps), last.generation_tokens


def run_engine(engine: MLXEngine, max_tokens: int, extract: bool) -> tuple[float, float, int]:
    params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    ex = None
    if extract:
        ex = StreamingExtractor()
        ex.feed(PRIMER)
    stamps: list[Stamp] = []
    for chunk in engine.stream_chat(ASK, params):
        if ex is not None:
            ex.feed(chunk.text)
            ex.snapshot()
        stamps.append(stamp())
        last = chunk
    if ex is not None:
        ex.finish()
    return *decode_rates(stamps), last.generated_tokens


def turn_two(model_path: Path, cache: bool) -> tuple[int, int, float]:
    with MLXEngine(prompt_cache=cache) as eng:
        eng.load(str(model_path))
        params = GenerationParams(temperature=0.0, max_tokens=64, seed=0)
        first = collect(eng.stream_chat(ASK, params))
        turn2: list[ChatMessage] = [
            *ASK,
            {"role": "assistant", "content": first.text},
            {"role": "user", "content": "Make the ball red and add a second one."},
        ]
        second = collect(eng.stream_chat(turn2, params))
    return second.last.prompt_tokens, second.last.prefilled_tokens, second.last.ttft or 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model folder (default: build the bench tiny model)")
    ap.add_argument(
        "--preset", choices=("bench", "tiny"), default="bench", help="model built without --model"
    )
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args(argv)

    import mlx.core as mx
    from mlx_lm import load

    tmp = None
    model_path = args.model
    if model_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="studio-bench-")
        model_path = build_bench_model(Path(tmp.name), args.preset)
    model, tokenizer = load(str(model_path))[:2]
    tokenizer.eos_token_ids = set()  # same token count every run
    prompt = tokenizer.apply_chat_template(ASK, add_generation_prompt=True)
    engine = MLXEngine()
    engine.load(str(model_path))
    engine._worker.call(lambda: setattr(engine._tokenizer, "eos_token_ids", set()))

    modes: dict[str, Callable[[], tuple[float, float, int]]] = {
        "raw mlx_lm.stream_generate": lambda: run_raw(model, tokenizer, prompt, args.max_tokens),
        "MLXEngine.stream_chat": lambda: run_engine(engine, args.max_tokens, extract=False),
        "MLXEngine + StreamingExtractor": lambda: run_engine(engine, args.max_tokens, extract=True),
    }

    for fn in modes.values():  # warm up (compile, caches)
        fn()
    results: dict[str, list[float]] = {name: [] for name in modes}
    cpu_ms: dict[str, list[float]] = {name: [] for name in modes}
    counts: dict[str, set[int]] = {name: set() for name in modes}
    for _ in range(args.reps):
        for name, fn in modes.items():
            tps, ms, n = fn()
            results[name].append(tps)
            cpu_ms[name].append(ms)
            counts[name].add(n)
    engine.close()

    size = sum(f.stat().st_size for f in Path(model_path).glob("*.safetensors")) / 1e6
    print(f"model: {model_path} ({size:.0f} MB)  device: {mx.default_device()}  {platform.machine()}")
    print(f"max_tokens={args.max_tokens}, greedy, seed 0, eos ignored, {args.reps} interleaved reps\n")
    raw = "raw mlx_lm.stream_generate"
    base_cpu = statistics.median(cpu_ms[raw])
    print(
        f"| {'path':32} | {'tokens':>6} | {'median tok/s':>12} | {'min':>6} | {'max':>6} "
        f"| {'paired ratio':>12} | {'CPU ms/token':>12} | {'CPU ratio':>9} |"
    )
    print(f"|{'-' * 34}|{'-' * 8}|{'-' * 14}|{'-' * 8}|{'-' * 8}|{'-' * 14}|{'-' * 14}|{'-' * 11}|")
    for name, vals in results.items():
        med, cpu = statistics.median(vals), statistics.median(cpu_ms[name])
        paired = statistics.median(v / r for v, r in zip(vals, results[raw], strict=True))
        tokens = "/".join(str(c) for c in sorted(counts[name]))
        print(
            f"| {name:32} | {tokens:>6} | {med:12.2f} | {min(vals):6.2f} | {max(vals):6.2f} "
            f"| {paired:12.3f} | {cpu:12.2f} | {base_cpu / cpu:9.3f} |"
        )
    print(
        "paired ratio: median over reps of this row's tok/s / raw's in the same rep (target >= 0.97);\n"
        "CPU ratio: raw's median CPU time per token / this row's (process CPU, all threads).\n"
        "On a loaded machine wall-clock rates mostly measure the scheduler: read the CPU columns."
    )
    print("\nturn 2 (turn 1 answered with 64 greedy tokens):\n")
    print(f"| {'prompt cache':12} | {'prompt tokens':>13} | {'prefilled':>9} | {'ttft s':>7} |")
    print(f"|{'-' * 14}|{'-' * 15}|{'-' * 11}|{'-' * 9}|")
    for cache in (False, True):
        total, prefilled, ttft = turn_two(Path(model_path), cache)
        print(f"| {'on' if cache else 'off':12} | {total:13d} | {prefilled:9d} | {ttft:7.3f} |")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
