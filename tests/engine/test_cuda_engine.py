"""The CUDA engine (PyTorch + transformers) on the CPU, with the tiny real model.

No GPU is needed: the engine runs the same token loop on ``device="cpu"``. The comparison with the
MLX engine uses float32 on both sides (the tiny model's weights are float32).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cancel_after import CancelAfter

pytest.importorskip("torch", reason="the CUDA engine needs PyTorch (pip install 'artifacts-studio[cuda]')")

import torch

from studio.engine.base import (
    ChatMessage,
    Chunk,
    Engine,
    EngineError,
    GenerationParams,
    ModelLoadError,
    collect,
)
from studio.engine.cuda import CudaEngine
from studio.engine.cuda_decode import Detokenizer, sample
from studio.engine.cuda_support import cpu_has_bf16, oom_message
from studio.engine.mlx import MLXEngine
from studio.engine.prompt_cache import common_prefix

ASK: list[ChatMessage] = [{"role": "user", "content": "Make a snake game as one HTML file."}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=24)


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


@pytest.fixture(scope="module")
def cuda_engine(tiny_model_path: Path) -> Iterator[CudaEngine]:
    eng = CudaEngine(device="cpu", quantization="fp32")
    eng.load(str(tiny_model_path))
    yield eng
    eng.close()


def cold(path: Path, **kwargs: object) -> CudaEngine:
    eng = CudaEngine(device="cpu", quantization="fp32", prompt_cache=False, **kwargs)  # type: ignore[arg-type]
    eng.load(str(path))
    return eng


def test_constructor_is_cheap_and_checks_options() -> None:
    code = (
        "import sys; from studio.engine.cuda import CudaEngine; e = CudaEngine(); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'imported'; e.close()"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    no_torch = (
        "import sys; sys.modules['torch'] = None; from studio.engine.cuda import CudaEngine\n"
        "try:\n    CudaEngine()\nexcept Exception as exc:\n    print(type(exc).__name__, exc)"
    )
    res = subprocess.run([sys.executable, "-c", no_torch], capture_output=True, text=True, timeout=60)
    assert (
        res.stdout.strip()
        == "EngineError the CUDA engine needs PyTorch: pip install 'artifacts-studio[cuda]'"
    )
    with pytest.raises(EngineError, match="unknown device 'tpu'"):
        CudaEngine(device="tpu")
    with pytest.raises(EngineError, match="unknown quantization 'int3'"):
        CudaEngine(quantization="int3")


def test_is_an_engine(cuda_engine: CudaEngine) -> None:
    assert isinstance(cuda_engine, Engine)
    assert cuda_engine.name == "cuda" and cuda_engine.device == "cpu"
    info = cuda_engine.model
    assert info is not None and info.engine == "cuda" and info.quantization == "fp32"
    assert info.extra["model_type"] == "qwen2" and info.extra["dtype"] == "float32"
    assert info.extra["chat_template"] == "model"
    assert info.context_length == 4096


def test_greedy_answer_equals_mlx(cuda_engine: CudaEngine, engine: MLXEngine) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=48)
    ids = cuda_engine.encode_chat(ASK)
    assert ids == engine.encode_chat(ASK)  # the same chat template and tokenizer
    with CudaEngine(device="cpu", quantization="fp32", prompt_cache=False) as fresh:
        fresh.load(str(engine.model.path))  # type: ignore[union-attr]
        ours = collect(fresh.stream_chat(ASK, params))
    theirs = collect(engine.stream_chat(ASK, params))
    assert ours.finish_reason == theirs.finish_reason == "length"
    # Same weights in float32 on both sides: the same greedy text (the ids are compared below).
    # mlx-lm's BPE detokenizer drops one leading space of an answer; ours keeps the decoded text.
    assert ours.text.removeprefix(" ") == theirs.text.removeprefix(" ")
    assert len(ours.text) > 20


def test_same_generated_ids_as_mlx(cuda_engine: CudaEngine, engine: MLXEngine, tiny_model_path: Path) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=32)
    with CudaEngine(device="cpu", quantization="fp32") as fresh:
        fresh.load(str(tiny_model_path))
        collect(fresh.stream_chat(ASK, params))
        ours = fresh.cached_tokens()
    collect(engine.stream_chat(ASK, params))
    theirs = engine.cached_tokens()
    prompt = len(engine.encode_chat(ASK))
    assert len(ours) == prompt + 31  # every generated id but the last was fed back
    assert ours == theirs[: len(ours)]


def test_streams_chunks_with_growing_counters(cuda_engine: CudaEngine) -> None:
    chunks = list(cuda_engine.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=16)))
    assert len(chunks) == 16
    assert [c.generated_tokens for c in chunks] == list(range(1, 17))
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert chunks[-1].finish_reason == "length"
    prompt = len(cuda_engine.encode_chat(ASK))
    assert {c.prompt_tokens for c in chunks} == {prompt}
    ttfts = {c.ttft for c in chunks}
    assert len(ttfts) == 1 and 0 < chunks[0].ttft < 10  # type: ignore[operator]
    assert all(c.tps > 0 and c.prompt_tps > 0 for c in chunks)
    assert all(c.peak_memory_gb is None for c in chunks)  # no CUDA allocator on the CPU
    assert text_of(chunks)


def test_max_tokens_gives_length(cuda_engine: CudaEngine) -> None:
    for n in (1, 7):
        done = collect(cuda_engine.stream_chat(ASK, GenerationParams(temperature=0.7, max_tokens=n, seed=1)))
        assert done.finish_reason == "length"
        assert done.last.generated_tokens == n


def test_stop_on_eos(eos_model_path: Path) -> None:
    with CudaEngine(device="cpu") as eng:
        eng.load(str(eos_model_path))
        chunks = list(eng.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=50)))
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].generated_tokens == 1  # the <|im_end|> itself
    assert text_of(chunks) == ""


def test_seed_reproducible_and_seeds_differ(cuda_engine: CudaEngine) -> None:
    def run(seed: int) -> str:
        params = GenerationParams(temperature=1.0, top_p=1.0, max_tokens=32, seed=seed)
        return collect(cuda_engine.stream_chat(ASK, params)).text

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    nucleus = GenerationParams(temperature=0.8, top_p=0.9, max_tokens=16, seed=4)
    assert (
        collect(cuda_engine.stream_chat(ASK, nucleus)).text
        == collect(cuda_engine.stream_chat(ASK, nucleus)).text
    )


def test_cancel_from_another_thread(cuda_engine: CudaEngine) -> None:
    seen = threading.Event()

    def canceller() -> None:
        seen.wait(10)
        cuda_engine.cancel()

    thread = threading.Thread(target=canceller)
    thread.start()
    chunks: list[Chunk] = []
    for chunk in cuda_engine.stream_chat(ASK, GenerationParams(temperature=0.8, max_tokens=3000, seed=3)):
        chunks.append(chunk)
        if len(chunks) == 3:
            seen.set()
    thread.join()
    last = chunks[-1]
    assert last.finish_reason == "cancelled"
    assert last.generated_tokens == len(chunks) - 1 < 3000  # every token streamed, then the end
    # At a known point instead of a moment: at most 6 tokens, whatever the scheduling.
    counted = list(
        cuda_engine.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=3000), CancelAfter(6))
    )
    assert counted[-1].finish_reason == "cancelled" and 0 < counted[-1].generated_tokens <= 6


def test_closing_the_generator_cancels(cuda_engine: CudaEngine) -> None:
    prompt = len(cuda_engine.encode_chat(ASK))
    stream = cuda_engine.stream_chat(ASK, GenerationParams(temperature=0.8, max_tokens=3000, seed=5))
    for _ in range(3):
        next(stream)
    stream.close()
    held = cuda_engine.cached_tokens()  # runs on the worker after the cancelled answer ended
    assert prompt + 2 <= len(held) < prompt + 3000  # stopped (how far it ran ahead is scheduling)
    assert collect(cuda_engine.stream_chat(ASK, GREEDY)).finish_reason == "length"


def test_prompt_cache_turn_two(cuda_engine: CudaEngine, tiny_model_path: Path) -> None:
    first = collect(cuda_engine.stream_chat(ASK, GREEDY))
    held = cuda_engine.cached_tokens()
    turn2: list[ChatMessage] = [
        *ASK,
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "Now make the snake blue and add a score."},
    ]
    ids2 = cuda_engine.encode_chat(turn2)
    second = list(cuda_engine.stream_chat(turn2, GREEDY))
    last = second[-1]
    assert last.prompt_tokens == len(ids2)
    assert last.prefilled_tokens == len(ids2) - common_prefix(held, ids2)
    assert last.prefilled_tokens <= last.prompt_tokens - first.last.prompt_tokens
    assert last.prefilled_tokens < last.prompt_tokens / 2
    with cold(tiny_model_path) as reference_engine:
        reference = list(reference_engine.stream_chat(turn2, GREEDY))
    assert reference[-1].prefilled_tokens == reference[-1].prompt_tokens
    assert text_of(second) == text_of(reference)  # the cache changed nothing but the work


@pytest.mark.parametrize("penalty", [None, 1.3])
def test_regenerate_prefills_one_token_and_matches_cold(
    cuda_engine: CudaEngine, tiny_model_path: Path, penalty: float | None
) -> None:
    # A prompt of the model's own favourite tokens: the penalty changes this answer (checked below),
    # so a penalty that missed the cached prompt tokens would change the warm answer.
    echo: list[ChatMessage] = [{"role": "user", "content": "anvas calculatortodoyle chart"}]
    params = GenerationParams(temperature=0.0, max_tokens=24, repetition_penalty=penalty)
    first = collect(cuda_engine.stream_chat(echo, params))
    warm = collect(cuda_engine.stream_chat(echo, params))
    assert warm.last.prefilled_tokens == 1
    with cold(tiny_model_path) as cold_engine:
        reference = collect(cold_engine.stream_chat(echo, params))
    assert warm.text == first.text == reference.text
    if penalty is not None:
        assert (
            reference.text
            != collect(cuda_engine.stream_chat(echo, GenerationParams(temperature=0.0, max_tokens=24))).text
        )


def test_cancelled_prefill_leaves_a_consistent_cache(tiny_model_path: Path) -> None:
    long_ask: list[ChatMessage] = [{"role": "user", "content": "Draw a chart of prime numbers. " * 20}]
    with CudaEngine(device="cpu", quantization="fp32", prefill_step_size=16) as eng:
        eng.load(str(tiny_model_path))
        ids = eng.encode_chat(long_ask)
        assert len(ids) > 64
        # Checks: before the start, before chunk 1, before chunk 2, before chunk 3 -> cancelled there.
        aborted = list(eng.stream_chat(long_ask, GREEDY, CancelAfter(3)))
        assert [c.finish_reason for c in aborted] == ["cancelled"]
        assert aborted[0].generated_tokens == 0
        assert eng.cached_tokens() == ids[:32]
        resumed = collect(eng.stream_chat(long_ask, GREEDY))
        assert resumed.last.prefilled_tokens == len(ids) - 32
    with cold(tiny_model_path) as reference:
        assert collect(reference.stream_chat(long_ask, GREEDY)).text == resumed.text


def test_auto_dtype_on_cpu(tiny_model_path: Path) -> None:
    with CudaEngine(device="cpu") as eng:
        info = eng.load(str(tiny_model_path))
        done = collect(eng.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=8)))
    assert info.quantization == ("bf16" if cpu_has_bf16() else "fp32")
    assert done.finish_reason == "length" and done.last.generated_tokens == 8


def test_load_replaces_the_model_and_resets_the_cache(tiny_model_path: Path, eos_model_path: Path) -> None:
    with CudaEngine(device="cpu", quantization="fp32") as eng:
        eng.load(str(tiny_model_path))
        collect(eng.stream_chat(ASK, GREEDY))
        assert eng.cached_tokens()
        info = eng.load(str(eos_model_path))
        assert info.path == str(eos_model_path)
        assert eng.cached_tokens() == []
        assert collect(eng.stream_chat(ASK, GREEDY)).finish_reason == "stop"


def test_no_model_closed_engine_and_bad_template(tiny_model_path: Path) -> None:
    eng = CudaEngine(device="cpu", quantization="fp32")
    chunks = list(eng.stream_chat(ASK, GREEDY))
    assert [c.finish_reason for c in chunks] == ["error"] and chunks[0].error == "no model is loaded"
    eng.load(str(tiny_model_path))
    bad = list(eng.stream_chat([{"role": "user"}], GREEDY))  # type: ignore[typeddict-item]
    assert [c.finish_reason for c in bad] == ["error"] and "\n" not in (bad[0].error or "")
    assert collect(eng.stream_chat(ASK, GREEDY)).finish_reason == "length"  # still usable
    eng.close()
    closed = list(eng.stream_chat(ASK, GREEDY))
    assert [c.finish_reason for c in closed] == ["error"] and "closed" in (closed[0].error or "")


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".tiny_model.json"))
    return dest


def _edit_config(folder: Path, **changes: object) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_broken_folders_give_one_line(tiny_model_path: Path, tmp_path: Path) -> None:
    eng = CudaEngine(device="cpu")
    try:
        cases: list[tuple[Path, str]] = [(tmp_path / "nowhere", "model folder not found")]
        mlx_quant = _copy(tiny_model_path, tmp_path / "mlxq")
        _edit_config(mlx_quant, quantization={"group_size": 64, "bits": 4})
        cases.append((mlx_quant, "MLX-quantized"))
        unknown = _copy(tiny_model_path, tmp_path / "unknown")
        _edit_config(unknown, model_type="no_such_arch")
        cases.append((unknown, "unsupported model_type 'no_such_arch'"))
        truncated = _copy(tiny_model_path, tmp_path / "truncated")
        data = (truncated / "model.safetensors").read_bytes()
        (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
        cases.append((truncated, "truncated"))
        mismatched = _copy(tiny_model_path, tmp_path / "mismatched")
        _edit_config(mismatched, hidden_size=128)
        cases.append((mismatched, "cannot load the weights"))
        for folder, expected in cases:
            with pytest.raises(ModelLoadError) as info:
                eng.load(str(folder))
            message = str(info.value)
            assert expected in message and "\n" not in message, message
    finally:
        eng.close()


def test_device_and_quantization_errors(tiny_model_path: Path) -> None:
    if not torch.cuda.is_available():
        with CudaEngine(device="cuda") as eng, pytest.raises(ModelLoadError) as info:
            eng.load(str(tiny_model_path))
        assert "'cuda' was requested" in str(info.value) and "choose device cpu" in str(info.value)
    with (
        CudaEngine(device="cpu", quantization="nf4") as eng,
        pytest.raises(ModelLoadError, match="CUDA GPUs only"),
    ):
        eng.load(str(tiny_model_path))


def test_oom_message_names_a_smaller_model() -> None:
    message = oom_message(torch, "cpu", "loading big")
    assert message.startswith("out of memory loading big on cpu (")
    assert "try a smaller model such as Qwen2.5-Coder-" in message and "(CUDA)" in message


def test_detokenizer_never_splits_a_character(cuda_engine: CudaEngine) -> None:
    tok = cuda_engine._worker.call(lambda: cuda_engine._tokenizer)
    text = "héllo wörld 🐍 snake — 数字 ok"
    ids = tok.encode(text, add_special_tokens=False)
    decode = lambda xs: tok.decode(xs, skip_special_tokens=False, clean_up_tokenization_spaces=False)  # noqa: E731
    detok = Detokenizer(decode)
    pieces = [detok.add(i) for i in ids]
    pieces.append(detok.flush())
    assert "".join(pieces) == text == decode(ids)
    assert not any("\ufffd" in p for p in pieces)
    assert sum(1 for p in pieces if p == "") > 0  # multi-byte characters were held back


def test_sampling_rules() -> None:
    logits = torch.tensor([0.0, 3.0, 2.9, -1.0])
    greedy = GenerationParams(temperature=0.0)
    assert sample(torch, logits, greedy, [], None) == 1
    # a penalty on token 1 (positive logit divided) hands greedy to token 2
    assert sample(torch, logits, GenerationParams(temperature=0.0, repetition_penalty=2.0), [1], None) == 2
    # top-p so small that only the best token is left, whatever the draw
    tight = GenerationParams(temperature=5.0, top_p=0.01)
    gen = torch.Generator().manual_seed(0)
    assert {sample(torch, logits, tight, [], gen) for _ in range(50)} == {1}
    loose = GenerationParams(temperature=5.0, top_p=1.0)
    assert len({sample(torch, logits, loose, [], gen) for _ in range(200)}) == 4


def test_cli_generate_streams_json(tiny_model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli import main

    code = main(
        [
            "generate",
            "--engine",
            "cuda",
            "--device",
            "cpu",
            "--model",
            str(tiny_model_path),
            "--prompt",
            "hi",
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "--json",
        ]
    )  # fmt: skip  (greedy: the settings' default 0.2 sampled, unseeded, and could draw <|im_end|>)
    out = json.loads(capsys.readouterr().out)
    assert code in (0, 3)  # 3: random weights write no artifact
    (turn,) = out["turns"]
    assert turn["generated_tokens"] == 8 and turn["finish_reason"] == "length"
    assert turn["prefilled_tokens"] == turn["prompt_tokens"] > 0
    assert out["text"]


def test_prompt_longer_than_the_context_is_an_error_chunk(cuda_engine: CudaEngine) -> None:
    huge: list[ChatMessage] = [{"role": "user", "content": "snake game chart " * 2000}]
    assert len(cuda_engine.encode_chat(huge)) >= 4096
    chunks = list(cuda_engine.stream_chat(huge, GREEDY))
    assert [c.finish_reason for c in chunks] == ["error"]
    assert "the context holds 4096" in (chunks[0].error or "")


# ---------------------------------------------------------------- on a CUDA GPU only

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@needs_gpu
def test_gpu_fp32_answer_equals_the_cpu_answer(tiny_model_path: Path) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=24)
    with CudaEngine(device="cuda", quantization="fp32") as gpu:
        gpu.load(str(tiny_model_path))
        on_gpu = collect(gpu.stream_chat(ASK, params))
    with cold(tiny_model_path) as cpu:
        on_cpu = collect(cpu.stream_chat(ASK, params))
    assert on_gpu.last.peak_memory_gb is not None and on_gpu.last.peak_memory_gb > 0
    assert on_gpu.text == on_cpu.text


@needs_gpu
@pytest.mark.parametrize("quantization", ["nf4", "bf16"])
def test_gpu_quantizations_load_stream_and_reuse_the_cache(tiny_model_path: Path, quantization: str) -> None:
    if quantization == "nf4":
        pytest.importorskip("bitsandbytes", reason="NF4 needs bitsandbytes")
    with CudaEngine(device="cuda", quantization=quantization) as eng:
        info = eng.load(str(tiny_model_path))
        assert info.quantization == quantization and eng.device == "cuda:0"
        first = collect(eng.stream_chat(ASK, GREEDY))
        again = collect(eng.stream_chat(ASK, GREEDY))
    assert first.finish_reason == again.finish_reason == "length"
    # bf16 math: a 1-token forward on the cache may round differently from the whole-prompt one,
    # so only the work is compared here (text equality is checked in fp32 above and on the CPU).
    assert again.last.prefilled_tokens == 1 and first.text and again.text
    assert first.last.peak_memory_gb is not None and first.last.peak_memory_gb > 0
