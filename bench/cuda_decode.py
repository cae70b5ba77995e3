"""Prefill and decode speed of the CUDA engine on a 7B-shaped model, against the bandwidth bound.

Builds a random-weight Qwen2 model shaped like Qwen2.5-Coder-7B (``SHAPES["7B"]`` of
studio/models/cuda_catalog.py: hidden 3584, 28 layers, 28 heads, 4 KV heads, MLP 18944,
vocabulary 152,064) directly on the GPU in bf16, saves it with the tiny test tokenizer
(tests/fixtures/tiny_model.py), and loads it through :class:`studio.engine.cuda.CudaEngine` once per
quantization (bf16, nf4). The LM-head rows of the special tokens are zeroed so greedy decoding never
stops early. For each form it reports:

* raw prefill / decode tok/s: the bare ``model(...)`` loop on the engine's model (DynamicCache,
  argmax kept on the device, one synchronize at the end): what transformers' eager forward allows;
* engine prefill / decode tok/s: ``CudaEngine.stream_chat`` figures (``prompt_tps``, ``tps``), which
  add sampling, one host sync per token, detokenization and the queue;
* bound tok/s: memory bandwidth / bytes read per decoded token (the weights less the embedding
  table, of which one row is read, plus the KV cache at the mean context);
* overhead: raw decode tok/s / engine decode tok/s.

Each figure is the best of ``--reps`` runs (default 3), after one warm-up run.

Run on a GPU machine: ``python bench/cuda_decode.py [--bandwidth-gbs 3350] [--quant bf16,nf4]``.
Without CUDA it says so; ``--device cpu --tiny`` runs the same code on a small shape (the bench
preset of tiny_model.py: hidden 640, 8 layers) in fp32 and bf16, which is how this script is tested
on machines without a GPU.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from studio.engine.base import GenerationParams, collect  # noqa: E402
from studio.models.cuda_catalog import SHAPES, Shape  # noqa: E402

TINY = Shape(hidden=640, layers=8, heads=10, kv_heads=2, intermediate=1792, vocab=2048, tied=False)
BANDWIDTH_GBS = {
    "H200": 4800.0,
    "H100 PCIe": 2000.0,
    "H100": 3350.0,
    "A100-SXM4-80GB": 2039.0,
    "A100": 1555.0,
}
CPU_BANDWIDTH_GBS = 35.0  # this 2-core development machine, measured (docs/ARCHITECTURE.md)
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
)


def _tiny_model_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tiny_model", REPO / "tests" / "fixtures" / "tiny_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("tiny_model", module)
    spec.loader.exec_module(module)
    return module


def default_bandwidth(torch: Any, device: str) -> float:
    """The GPU's peak memory bandwidth in GB/s from its name (H200, H100 SXM/PCIe, A100), or the CPU's."""
    if not device.startswith("cuda"):
        return CPU_BANDWIDTH_GBS
    name = torch.cuda.get_device_name(device)
    return next((gbs for key, gbs in BANDWIDTH_GBS.items() if key in name), BANDWIDTH_GBS["H100"])


def build_folder(torch: Any, shape: Shape, device: str, work: Path) -> Path:
    """A random-weight Qwen2 folder of ``shape`` (bf16 safetensors) with the tiny tokenizer."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tiny = _tiny_model_module()
    tok_src = tiny.build_tiny_model(work / "tokenizer", spec=replace(tiny.PRESETS["tiny"], vocab=2048))
    config = Qwen2Config(
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        intermediate_size=shape.intermediate,
        vocab_size=shape.vocab,
        tie_word_embeddings=shape.tied,
        max_position_embeddings=32768,
        bos_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM._from_config(config, dtype=torch.bfloat16)
    with torch.no_grad():
        model.lm_head.weight[:8] = 0  # special tokens (ids 0-2) never win greedy decoding
    out = work / f"qwen2-{shape.hidden}x{shape.layers}"
    model.save_pretrained(out, max_shard_size="4GB")
    del model
    for name in TOKENIZER_FILES:
        if (tok_src / name).is_file():
            shutil.copy(tok_src / name, out / name)
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return out


def raw_speed(engine: Any, prompt: list[int], decode: int) -> tuple[float, float]:
    """(prefill tok/s, decode tok/s) of the bare forward loop on the engine's model (on its worker)."""

    def run() -> tuple[float, float]:
        torch, model, device = engine._torch, engine._model, engine.device
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda *_: None)
        with torch.inference_mode():
            cache = engine._new_cache()
            ids = torch.tensor([prompt], device=device)
            sync()
            t0 = time.perf_counter()
            logits = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1).logits
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            sync()
            t1 = time.perf_counter()
            for _ in range(decode):
                logits = model(input_ids=nxt, cache=cache, use_cache=True, logits_to_keep=1).logits
                nxt = logits[:, -1].argmax(-1, keepdim=True)
            sync()
            t2 = time.perf_counter()
        return len(prompt) / (t1 - t0), decode / (t2 - t1)

    return engine._worker.call(run)


def bytes_per_token(shape: Shape, weight_bytes: int, bytes_per_weight: float, context: int) -> float:
    """Weights read per decoded token (all but the embedding table) + the KV cache read (bf16/fp32)."""
    embedding = shape.vocab * shape.hidden * (2 if bytes_per_weight < 4 else 4)
    kv_elem = 4 if bytes_per_weight >= 4 else 2
    kv = 2 * shape.layers * shape.kv_heads * shape.head_dim * kv_elem * context
    return weight_bytes - (0 if shape.tied else embedding) + kv


def measure(
    torch: Any, folder: Path, device: str, quant: str, args: argparse.Namespace, shape: Shape
) -> dict:
    from studio.engine.cuda import CudaEngine

    with CudaEngine(device=device, quantization=quant, prompt_cache=False) as engine:
        t = time.perf_counter()
        info = engine.load(str(folder))
        load_s = time.perf_counter() - t
        words = " ".join(f"item{i}" for i in range(args.prompt_tokens))
        msgs = [{"role": "user", "content": words}]
        prompt = engine.encode_chat(msgs)[: args.prompt_tokens]  # type: ignore[arg-type]
        greedy = GenerationParams(temperature=0.0, max_tokens=args.decode_tokens)
        collect(engine.stream_chat(msgs, GenerationParams(temperature=0.0, max_tokens=4)))  # type: ignore[arg-type]
        raw_speed(engine, prompt[:64], 4)  # warm-up (kernels, allocator)
        raws = [raw_speed(engine, prompt, args.decode_tokens) for _ in range(args.reps)]
        runs = [collect(engine.stream_chat(msgs, greedy)).last for _ in range(args.reps)]  # type: ignore[arg-type]
        raw_prefill, raw_decode = max(r[0] for r in raws), max(r[1] for r in raws)
        last = max(runs, key=lambda c: c.tps)
        weight_bytes = int(info.extra["memory_bytes"])  # type: ignore[call-overload]
        per_weight = weight_bytes / shape.params()
        bpt = bytes_per_token(shape, weight_bytes, per_weight, last.prompt_tokens + args.decode_tokens // 2)
        bound = args.bandwidth_gbs * 1e9 / bpt
        return {
            "quant": info.quantization,
            "load_s": load_s,
            "weights_gb": weight_bytes / 1e9,
            "gb_per_token": bpt / 1e9,
            "bound": bound,
            "raw_prefill": raw_prefill,
            "engine_prefill": max(c.prompt_tps for c in runs),
            "raw_decode": raw_decode,
            "engine_decode": last.tps,
            "tokens": last.generated_tokens,
            "finish": last.finish_reason,
            "peak_gb": last.peak_memory_gb,
        }


def print_table(rows: list[dict], head: str) -> None:
    print(head)
    cols = (
        ("quant", "{:>6}", "quant"),
        ("load s", "{:>7.1f}", "load_s"),
        ("weights GB", "{:>10.2f}", "weights_gb"),
        ("GB/token", "{:>8.3f}", "gb_per_token"),
        ("bound tok/s", "{:>11.1f}", "bound"),
        ("raw prefill", "{:>11.1f}", "raw_prefill"),
        ("eng prefill", "{:>11.1f}", "engine_prefill"),
        ("raw decode", "{:>10.1f}", "raw_decode"),
        ("eng decode", "{:>10.1f}", "engine_decode"),
        ("% bound", "{:>7.0%}", None),
        ("overhead", "{:>8.2f}", None),
    )
    print(
        " | ".join(
            f"{name:>{len(fmt.format(0) if key != 'quant' else fmt.format('x'))}}" for name, fmt, key in cols
        )
    )
    for r in rows:
        cells = []
        for _name, fmt, key in cols:
            if key is not None:
                cells.append(fmt.format(r[key]))
            elif _name == "% bound":
                cells.append(fmt.format(r["engine_decode"] / r["bound"]))
            else:
                cells.append(fmt.format(r["raw_decode"] / r["engine_decode"]))
        print(" | ".join(cells))
    for r in rows:
        if r["finish"] != "length":
            print(f"note: {r['quant']} stopped early ({r['finish']} after {r['tokens']} tokens)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu")
    parser.add_argument("--tiny", action="store_true", help="a small shape instead of the 7B (for CPUs)")
    parser.add_argument(
        "--size", default="7B", choices=list(SHAPES), help="the Qwen2.5-Coder shape (default 7B)"
    )
    parser.add_argument(
        "--quant", default=None, help="comma list (default: bf16,nf4 on CUDA; fp32,bf16 on CPU)"
    )
    parser.add_argument(
        "--bandwidth-gbs", type=float, default=None, help="memory bandwidth (default: by GPU name)"
    )
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=3, help="runs per figure; the best one is shown")
    parser.add_argument("--work", type=Path, default=None, help="where the model folder is written")
    args = parser.parse_args(argv)

    import torch

    device = args.device
    if device == "auto":
        device = "cuda:0" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(
            f"no CUDA GPU here (torch {torch.__version__}); run with --device cpu --tiny to test the script"
        )
        return 2
    if device == "cpu" and not args.tiny and args.size not in ("0.5B", "1.5B"):
        print(f"the {args.size} shape on a CPU would take hours: use --device cpu --tiny (or --size 0.5B)")
        return 2
    shape = TINY if args.tiny else SHAPES[args.size]
    quants = (args.quant or ("bf16,nf4" if device.startswith("cuda") else "fp32,bf16")).split(",")
    args.bandwidth_gbs = args.bandwidth_gbs or default_bandwidth(torch, device)
    where = (
        torch.cuda.get_device_name(device)
        if device.startswith("cuda")
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="cuda-bench-"))
    try:
        folder = build_folder(torch, shape, device, work)
        rows = [measure(torch, folder, device, q, args, shape) for q in quants]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    head = (
        f"{'tiny' if args.tiny else args.size}-shaped Qwen2 (hidden {shape.hidden}, {shape.layers} layers, vocab "
        f"{shape.vocab}) on {where}, torch {torch.__version__}; prompt {args.prompt_tokens} tokens, "
        f"{args.decode_tokens} decoded greedily; best of {args.reps}; bandwidth {args.bandwidth_gbs:.0f} GB/s"
    )
    print_table(rows, head)
    return 0


if __name__ == "__main__":
    sys.exit(main())
