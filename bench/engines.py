"""Every installed engine on one machine, in one run: prompt and decode tokens per second.

One random-weight model shaped like Qwen2.5-Coder-0.5B (hidden 896, 24 layers, 14 heads, 2 KV
heads, MLP 4864, tied embeddings, vocabulary padded to Qwen's 151,936 rows) with the tiny test
tokenizer (tests/fixtures/tiny_model.py; its ~2k real tokens, the rest padding rows). Each engine
gets the same 500 prompt token ids and generates 256 tokens greedily with end-of-sequence ignored,
through the library's own token loop (mlx_lm.stream_generate, llama_cpp.Llama.generate):

* prompt tok/s = prompt tokens / (first token time - start)   (prefill, plus one sampling step)
* decode tok/s = (tokens - 1) / (last token time - first token time)

Medians over ``--reps`` runs; an engine whose first run takes longer than ``--slow-seconds`` is
run once (the table says n=1). Rows: mlx float32, mlx 4-bit (mlx_lm.convert, group 64),
transformers bfloat16 (only where torch is installed), llama.cpp Q4_0 / Q4_K_M / Q8_0 (converted
with tests/fixtures/tiny_gguf.py to F16, then llama_model_quantize).

Run: ``.venv/bin/python bench/engines.py [--reps 3] [--prompt-tokens 500] [--gen-tokens 256]
[--work DIR] [--only mlx-f32,llama-q4_0,...]`` (builds ~3 GB of model files under --work, default
a temp folder; reuse them with a fixed --work).
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.util
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
QWEN_VOCAB = 151936
SHAPE = {"hidden": 896, "layers": 24, "heads": 14, "kv_heads": 2, "intermediate": 4864}


def _fixture(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "fixtures" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


# ---------------------------------------------------------------- models


def build_model(work: Path, shape: dict[str, int], vocab: int) -> Path:
    """The 0.5B-shaped random model as an HF folder (tiny tokenizer, padded vocabulary)."""
    from safetensors.numpy import save_file

    out = work / f"qwen2-{shape['hidden']}x{shape['layers']}-v{vocab}"
    if (out / "model.safetensors").is_file():
        return out
    tiny = _fixture("tiny_model")
    spec = replace(tiny.PRESETS["tiny"], vocab=2048, tie_word_embeddings=True, **shape)
    base = tiny.build_tiny_model(work / "tokenizer-src", spec=replace(tiny.PRESETS["tiny"], vocab=2048))
    tmp = work / (out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp, ignore=shutil.ignore_patterns("model.safetensors", ".tiny_model.json"))
    config = json.loads((tmp / "config.json").read_text())
    eos = int(config["eos_token_id"])
    weights = tiny.make_weights(spec, vocab, eos)
    save_file(weights, str(tmp / "model.safetensors"), {"format": "pt"})
    config.update(
        hidden_size=shape["hidden"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["kv_heads"],
        intermediate_size=shape["intermediate"],
        max_window_layers=shape["layers"],
        tie_word_embeddings=True,
        vocab_size=vocab,
    )
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    del weights
    tmp.rename(out)
    return out


def mlx_4bit(folder: Path) -> Path:
    from mlx_lm import convert

    out = folder.parent / (folder.name + "-mlx-4bit")
    if not out.is_dir():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        convert(hf_path=str(folder), mlx_path=str(tmp), quantize=True, q_bits=4, q_group_size=64)
        tmp.rename(out)
    return out


def gguf_file(folder: Path, quant: str) -> Path:
    """``folder`` as GGUF: F16 by our converter, then llama.cpp's own quantizer for the rest."""
    import ctypes

    import llama_cpp

    from studio.engine.llamacpp import route_llama_logs

    route_llama_logs(llama_cpp)  # the quantizer's per-tensor lines go to a logger, not stderr
    f16 = folder.parent / (folder.name + "-f16.gguf")
    if not f16.is_file():
        _fixture("tiny_gguf").convert(folder, f16, file_type="f16")
    if quant == "f16":
        return f16
    out = folder.parent / (folder.name + f"-{quant}.gguf")
    if not out.is_file():
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant.upper()}")
        params.nthread = 0
        tmp = out.with_suffix(".tmp")
        rc = llama_cpp.llama_model_quantize(str(f16).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0:
            raise RuntimeError(f"llama_model_quantize to {quant} failed ({rc})")
        tmp.rename(out)
    return out


# ---------------------------------------------------------------- runners


@dataclass
class Row:
    engine: str
    weights: str
    prompt_tps: list[float]
    decode_tps: list[float]
    note: str = ""

    def cells(self) -> list[str]:
        if not self.decode_tps:
            return [self.engine, self.weights, "-", "-", self.note]
        n = len(self.decode_tps)
        note = self.note + (f"{'; ' if self.note else ''}n={n}" if n != 3 else "")
        return [
            self.engine,
            self.weights,
            f"{statistics.median(self.prompt_tps):.0f}",
            f"{statistics.median(self.decode_tps):.1f}",
            note,
        ]


def timed(stream: Iterator[Any], n: int) -> tuple[float, float]:
    """(prompt tok/s numerator time, decode tok/s) from a token stream; stops after n tokens."""
    t0 = time.perf_counter()
    stamps: list[float] = []
    for _ in stream:
        stamps.append(time.perf_counter())
        if len(stamps) == n:
            break
    if len(stamps) < 2:
        raise RuntimeError(f"the engine produced {len(stamps)} tokens")
    return stamps[0] - t0, (len(stamps) - 1) / (stamps[-1] - stamps[0])


def repeat(run: Callable[[], tuple[float, float]], reps: int, slow: float, n_prompt: int) -> Row:
    row = Row("", "", [], [])
    for i in range(reps):
        started = time.perf_counter()
        prefill_s, decode = run()
        row.prompt_tps.append(n_prompt / prefill_s)
        row.decode_tps.append(decode)
        print(
            f"    rep {i + 1}: prompt {n_prompt / prefill_s:.1f} tok/s, decode {decode:.2f} tok/s", flush=True
        )
        if i == 0 and time.perf_counter() - started > slow:
            break
    return row


def run_mlx(path: Path, ids: list[int], n: int, reps: int, slow: float) -> Row:
    import mlx.core as mx
    from mlx_lm import load
    from mlx_lm.generate import stream_generate
    from mlx_lm.sample_utils import make_sampler

    loaded = load(str(path))
    model, tokenizer = loaded[0], loaded[1]
    tokenizer.eos_token_ids = set()  # generate exactly n tokens
    sampler = make_sampler(0.0)

    def once() -> tuple[float, float]:
        stream = stream_generate(model, tokenizer, mx.array(ids), max_tokens=n, sampler=sampler)
        try:
            return timed(stream, n)
        finally:
            stream.close()

    row = repeat(once, reps, slow, len(ids))
    mx.clear_cache()
    return row


def run_llama(path: Path, ids: list[int], n: int, reps: int, slow: float) -> Row:
    from llama_cpp import Llama

    from studio.engine.llamacpp import usable_cores

    cores = usable_cores()
    llm = Llama(
        model_path=str(path),
        n_ctx=len(ids) + n + 16,
        n_batch=512,
        n_threads=cores,
        n_threads_batch=cores,
        verbose=False,
    )

    def once() -> tuple[float, float]:
        llm.reset()  # cold: the whole prompt is evaluated every rep
        stream = llm.generate(ids, temp=0.0, reset=False)
        try:
            return timed(stream, n)
        finally:
            stream.close()

    row = repeat(once, reps, slow, len(ids))
    llm.close()
    return row


def reuse_figures(path: Path, prompt_text: str, answer_tokens: int, reps: int) -> list[list[str]]:
    """Turn 2 of a chat through LlamaCppEngine, with the evaluated prefix kept vs a cold engine."""
    from studio.engine.base import ChatMessage, GenerationParams, collect
    from studio.engine.llamacpp import LlamaCppEngine

    params = GenerationParams(temperature=0.0, max_tokens=answer_tokens)
    turn1: list[ChatMessage] = [{"role": "user", "content": prompt_text}]
    rows: dict[str, list[tuple[int, int, float]]] = {"kept prefix": [], "cold (prompt_cache=False)": []}
    with LlamaCppEngine(n_ctx=2048) as warm, LlamaCppEngine(n_ctx=2048, prompt_cache=False) as cold:
        warm.load(str(path))
        cold.load(str(path))
        for _ in range(reps):
            warm.load(str(path))  # forget the previous rep
            first = collect(warm.stream_chat(turn1, params))
            turn2: list[ChatMessage] = [
                *turn1,
                {"role": "assistant", "content": first.text},
                {"role": "user", "content": "Now make the background blue and add a score counter."},
            ]
            for label, eng in (("kept prefix", warm), ("cold (prompt_cache=False)", cold)):
                last = collect(eng.stream_chat(turn2, GenerationParams(temperature=0.0, max_tokens=1))).last
                rows[label].append((last.prompt_tokens, last.prefilled_tokens, last.ttft or 0.0))
    return [
        [label, str(v[0][0]), str(v[0][1]), f"{statistics.median(t for *_, t in v) * 1000:.0f}"]
        for label, v in rows.items()
    ]


def _llama_row(folder: Path, quant: str, ids: list[int], n: int, reps: int, slow: float) -> Row:
    return run_llama(gguf_file(folder, quant), ids, n, reps, slow)


# ---------------------------------------------------------------- main


def prompt_ids(folder: Path, count: int) -> list[int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    text = "\n".join(_fixture("tiny_model").training_text(60))
    ids = tok.encode(text, add_special_tokens=False).ids
    if len(ids) < count:
        raise RuntimeError("not enough prompt text")
    return ids[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=500)
    parser.add_argument("--gen-tokens", type=int, default=256)
    parser.add_argument("--slow-seconds", type=float, default=120.0, help="run once when slower than this")
    parser.add_argument("--work", type=Path, default=None, help="where model files go (kept)")
    parser.add_argument(
        "--only", default="", help="comma list of row ids (mlx-f32, mlx-4bit, llama-q4_0, ...)"
    )
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="studio-bench-engines-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"building the model under {work} ...", flush=True)
    folder = build_model(work, SHAPE, QWEN_VOCAB)
    ids = prompt_ids(folder, args.prompt_tokens)
    n, reps, slow = args.gen_tokens, args.reps, args.slow_seconds
    only = {s for s in args.only.split(",") if s}

    have_mlx, have_llama = installed("mlx_lm"), installed("llama_cpp") and installed("gguf")
    plan: list[tuple[str, str, str, Callable[[], Row] | None, str]] = [
        (
            "mlx-f32",
            "mlx",
            "float32",
            (lambda: run_mlx(folder, ids, n, reps, slow)) if have_mlx else None,
            "",
        ),
        (
            "mlx-4bit",
            "mlx",
            "4-bit (group 64)",
            (lambda: run_mlx(mlx_4bit(folder), ids, n, reps, slow)) if have_mlx else None,
            "",
        ),
        (
            "transformers",
            "transformers",
            "bfloat16",
            None,
            "torch not installed" if not installed("torch") else "",
        ),
    ]
    for quant in ("q4_0", "q4_k_m", "q8_0"):
        runner: Callable[[], Row] | None = None
        if have_llama:
            runner = functools.partial(_llama_row, folder, quant, ids, n, reps, slow)
        plan.append((f"llama-{quant}", "llama.cpp", f"{quant.upper()} GGUF", runner, ""))

    rows: list[Row] = []
    for key, engine, weights, runner, note in plan:
        if only and key not in only:
            continue
        if runner is None:
            reason = note or f"{engine} not installed"
            if key == "transformers" and installed("torch"):
                reason = "not measured by this script yet"
            rows.append(Row(engine, weights, [], [], reason))
            continue
        print(f"  {engine} {weights} ...", flush=True)
        row = runner()
        gc.collect()
        row.engine, row.weights = engine, weights
        rows.append(row)

    head = ["engine", "weights", "prompt tok/s", "decode tok/s", "notes"]
    table = [head, *[r.cells() for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    print()
    print(
        f"{platform.machine()} {platform.system()}, {_cores()} cores; model: Qwen2.5-Coder-0.5B shape, "
        f"random weights, vocab {QWEN_VOCAB} (tiny tokenizer); prompt {len(ids)} tokens, "
        f"{n} generated, greedy, eos ignored; median of {reps}"
    )
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in table[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")

    if have_llama and (not only or "reuse" in only):
        text = _fixture("tiny_model").training_text(60)
        prompt_text = "\n".join(text)[: len(ids) * 3]
        print(
            f"\nllama.cpp Q4_K_M through LlamaCppEngine: turn 2 after a first turn of {len(prompt_text)} "
            "characters and a 64-token answer (greedy), median time over the reps"
        )
        reuse = reuse_figures(gguf_file(folder, "q4_k_m"), prompt_text, 64, reps)
        print("| turn 2 | prompt tokens | prefilled | time to first token (ms) |")
        print("|---|---|---|---|")
        for r in reuse:
            print("| " + " | ".join(r) + " |")
    return 0


def _cores() -> int:
    from studio.engine.llamacpp import usable_cores

    return usable_cores()


if __name__ == "__main__":
    sys.exit(main())
