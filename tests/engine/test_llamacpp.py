"""The llama.cpp engine through the real llama-cpp-python, on tiny real models converted to GGUF here.

Engine tests skip (with the install command as the reason) where llama-cpp-python or gguf is not
installed; the catalog / engine-choice tests and the "not installed" message always run.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cancel_after import CancelAfter
from llamacpp_fixtures import eos_gguf, gguf_of, llama, needs_llama, tiny_gguf

from studio.engine.base import (
    ChatMessage,
    Chunk,
    Engine,
    EngineError,
    GenerationParams,
    ModelLoadError,
    collect,
)
from studio.engine.llamacpp_files import INSTALL_HINT, resolve_gguf
from studio.engine.prompt_cache import common_prefix
from studio.models.llamacpp_catalog import gguf_entries
from studio.models.sysinfo import preferred_engine

__all__ = ["eos_gguf", "llama", "tiny_gguf"]  # fixtures, imported for pytest

REPO = Path(__file__).resolve().parents[2]
ASK: list[ChatMessage] = [{"role": "user", "content": "Make a snake game as one HTML file."}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=24)


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def cold_engine(path: Path) -> Any:
    from studio.engine.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(n_ctx=1024, prompt_cache=False)
    eng.load(str(path))
    return eng


# ---------------------------------------------------------------- no llama.cpp needed


def test_missing_llama_cpp_names_the_install_command() -> None:
    code = (
        "import sys; sys.modules['llama_cpp'] = None\n"
        "from studio.models.registry import create_engine\n"
        "from studio.engine.base import EngineError\n"
        "try:\n    create_engine('llamacpp')\nexcept EngineError as e:\n    print('ERR', e)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ERR ")
    assert INSTALL_HINT in proc.stdout
    assert "\n" not in proc.stdout.strip()


def test_llamacpp_is_a_registered_engine() -> None:
    from studio.models.registry import available

    assert available()["llamacpp"] == "studio.engine.llamacpp:LlamaCppEngine"


def test_catalog_lists_q4_k_m_default_and_q8_0_for_every_size() -> None:
    entries = gguf_entries()
    sizes = ["0.5B", "1.5B", "3B", "7B", "14B", "32B"]
    assert [(e.size, e.quant) for e in entries] == [(s, q) for s in sizes for q in ("q4_k_m", "q8_0")]
    assert all(e.default == (e.quant == "q4_k_m") for e in entries)
    seven = [e for e in entries if e.size == "7B"]
    assert seven[0].repo == "Qwen/Qwen2.5-Coder-7B-Instruct-GGUF"
    assert seven[0].pattern == "qwen2.5-coder-7b-instruct-q4_k_m*.gguf"
    assert all(a.approx_gb < b.approx_gb for a, b in itertools.pairwise(seven))
    assert "(default)" in seven[0].label and "(quality)" in seven[1].label


def test_engine_choice_prefers_llama_cpp_without_metal_or_cuda() -> None:
    engines = frozenset({"mlx", "llamacpp", "cuda"})
    assert preferred_engine(engines, metal=False, cuda=False, llama_cpp=True) == "llamacpp"
    assert preferred_engine(engines, metal=True, cuda=False, llama_cpp=True) == "mlx"
    assert preferred_engine(engines, metal=False, cuda=True, llama_cpp=True) == "cuda"
    assert preferred_engine(engines - {"cuda"}, metal=False, cuda=True, llama_cpp=True) == "llamacpp"
    assert preferred_engine(engines, metal=False, cuda=False, llama_cpp=False) == "mlx"


def test_resolve_gguf_errors_and_choices(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        resolve_gguf(str(tmp_path / "nope.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"no \.gguf file"):
        resolve_gguf(str(tmp_path / "empty"))
    notgguf = tmp_path / "model.gguf"
    notgguf.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        resolve_gguf(str(notgguf))
    folder = tmp_path / "quants"
    folder.mkdir()
    for name in ("m-q8_0.gguf", "m-q4_k_m-00001-of-00002.gguf", "m-q4_k_m-00002-of-00002.gguf"):
        (folder / name).write_bytes(b"GGUF" + b"\0" * 100)
    assert resolve_gguf(str(folder)).name == "m-q4_k_m-00001-of-00002.gguf"
    assert resolve_gguf(str(folder / "m-q4_k_m-00002-of-00002.gguf")).name.endswith("00001-of-00002.gguf")
    (folder / "m-q4_k_m-00002-of-00002.gguf").unlink()
    with pytest.raises(ModelLoadError, match="shard m-q4_k_m-00002-of-00002.gguf is missing"):
        resolve_gguf(str(folder / "m-q4_k_m-00001-of-00002.gguf"))


# ---------------------------------------------------------------- the engine


@needs_llama
def test_is_an_engine(llama: Any, tiny_gguf: Path) -> None:
    assert isinstance(llama, Engine)
    assert llama.name == "llamacpp"
    info = llama.model
    assert info is not None and info.engine == "llamacpp" and info.path == str(tiny_gguf)
    assert info.quantization == "F16"
    assert info.context_length == 4096  # the model's, from the GGUF metadata
    assert info.extra["n_ctx"] == 1024
    assert info.extra["model_type"] == "qwen2"
    assert info.extra["chat_template"] == "model"


@needs_llama
def test_chat_template_and_tokenizer_match_the_hf_folder(llama: Any, tiny_model_path: Path) -> None:
    # The GGUF's template + llama.cpp's BPE give exactly the ids the HF tokenizer gives.
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from tokenizers import Tokenizer

    cfg = json.loads((tiny_model_path / "tokenizer_config.json").read_text())
    tok = Tokenizer.from_file(str(tiny_model_path / "tokenizer.json"))
    convo: list[ChatMessage] = [
        {"role": "system", "content": "Answer with one HTML file.\n\tTabs, 'quotes' and ünïcödé."},
        {"role": "user", "content": "Draw 3 circles: r=10px, #ff0000 — then  animate   them!"},
    ]
    text = ImmutableSandboxedEnvironment().from_string(cfg["chat_template"])
    rendered = text.render(messages=convo, add_generation_prompt=True)
    assert llama.encode_chat(convo) == tok.encode(rendered, add_special_tokens=False).ids


@needs_llama
def test_streams_chunks_with_growing_counters(llama: Any) -> None:
    chunks = list(llama.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=16)))
    assert len(chunks) == 16
    assert [c.generated_tokens for c in chunks] == list(range(1, 17))
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert chunks[-1].finish_reason == "length"
    prompt = len(llama.encode_chat(ASK))
    assert {c.prompt_tokens for c in chunks} == {prompt}
    assert {c.prefilled_tokens for c in chunks} == {prompt}  # cold: the whole prompt
    assert len({c.ttft for c in chunks}) == 1 and 0 < chunks[0].ttft < 10  # type: ignore[operator]
    assert all(c.tps > 0 and c.prompt_tps > 0 for c in chunks)
    assert text_of(chunks)


@needs_llama
def test_greedy_text_matches_mlx_on_the_same_weights(tiny_model_path: Path) -> None:
    # An F32 GGUF and the MLX engine run the same weights: the converter's tensor mapping, rope
    # and tokenizer are right when greedy decoding agrees token for token.
    from studio.engine.llamacpp import LlamaCppEngine
    from studio.engine.mlx import MLXEngine

    params = GenerationParams(temperature=0.0, max_tokens=12)
    with LlamaCppEngine(n_ctx=1024) as eng:
        eng.load(str(gguf_of(tiny_model_path, "f32")))
        ours = collect(eng.stream_chat(ASK, params))
        ours_ids = eng.cached_tokens()
    with MLXEngine() as mlx:
        mlx.load(str(tiny_model_path))
        ref = collect(mlx.stream_chat(ASK, params))
        ref_ids = mlx.cached_tokens()
    assert ours.last.prompt_tokens == ref.last.prompt_tokens
    n = ours.last.prompt_tokens + params.max_tokens - 1  # what both caches hold at least
    assert len(ours_ids) >= n and len(ref_ids) >= n
    assert ours_ids[:n] == ref_ids[:n]
    # mlx-lm's streaming detokenizer drops the answer's leading space; llama.cpp keeps it.
    assert ours.text.lstrip(" ") == ref.text.lstrip(" ")


@needs_llama
def test_q8_0_gguf_loads_and_streams(tiny_model_path: Path) -> None:
    with cold_engine(gguf_of(tiny_model_path, "q8_0")) as eng:
        assert eng.model.quantization == "Q8_0"
        done = collect(eng.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=8)))
    assert done.finish_reason == "length" and done.last.generated_tokens == 8


@needs_llama
def test_max_tokens_gives_length_and_exactly_n_tokens(llama: Any) -> None:
    for n in (1, 7):
        done = collect(llama.stream_chat(ASK, GenerationParams(temperature=0.7, max_tokens=n, seed=1)))
        assert done.finish_reason == "length"
        assert done.last.generated_tokens == n


@needs_llama
def test_stop_on_eos(eos_gguf: Path) -> None:
    with cold_engine(eos_gguf) as eng:
        chunks = list(eng.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=50)))
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].generated_tokens == 1  # the <|im_end|> itself
    assert text_of(chunks) == ""  # the stop token is not shown


@needs_llama
def test_temperature_zero_is_deterministic_and_seeds_reproduce(llama: Any) -> None:
    a = collect(llama.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=24, seed=1)))
    b = collect(llama.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=24, seed=2)))
    assert a.text and a.text == b.text

    def run(seed: int) -> str:
        params = GenerationParams(temperature=1.0, top_p=1.0, max_tokens=32, seed=seed)
        return collect(llama.stream_chat(ASK, params)).text

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other


@needs_llama
def test_cancel_from_another_thread(llama: Any) -> None:
    seen = threading.Event()

    def canceller() -> None:
        seen.wait(10)
        llama.cancel()

    thread = threading.Thread(target=canceller)
    thread.start()
    chunks: list[Chunk] = []
    params = GenerationParams(temperature=0.8, max_tokens=900, seed=3)
    for chunk in llama.stream_chat(ASK, params):
        chunks.append(chunk)
        if len(chunks) == 3:
            seen.set()
    thread.join()
    last = chunks[-1]
    assert last.finish_reason == "cancelled"
    # Every token streamed, then the end (how far the worker ran ahead is scheduling: see below).
    assert last.generated_tokens == len(chunks) - 1 < 900


@needs_llama
def test_cancel_token_and_closing_the_generator(llama: Any) -> None:
    chunks = list(llama.stream_chat(ASK, GenerationParams(max_tokens=900, seed=3), CancelAfter(6)))
    assert chunks[-1].finish_reason == "cancelled"
    # The worker checks the flag per prefill step and after every token and stops at the first check
    # that reads cancelled: at most 6 tokens, whatever the scheduling (a consumer's cancel lands
    # wherever the worker, running ahead at about 1000 tok/s, happens to be).
    assert 0 < chunks[-1].generated_tokens == len(chunks) - 1 <= 6

    prompt = len(llama.encode_chat(ASK))
    stream = llama.stream_chat(ASK, GenerationParams(temperature=0.8, max_tokens=900, seed=5))
    for _ in range(3):
        next(stream)
    stream.close()
    held = llama.cached_tokens()  # runs on the worker after the cancelled answer ended
    assert prompt + 2 <= len(held) < prompt + 900  # stopped (how far it ran ahead is scheduling)
    assert collect(llama.stream_chat(ASK, GREEDY)).finish_reason == "length"


@needs_llama
def test_turn_two_prefills_only_the_new_tokens(llama: Any, tiny_gguf: Path) -> None:
    first = collect(llama.stream_chat(ASK, GREEDY))
    held = llama.cached_tokens()
    ids1 = llama.encode_chat(ASK)
    assert held[: len(ids1)] == ids1
    assert len(held) == len(ids1) + GREEDY.max_tokens - 1  # the last token is sampled, not evaluated
    turn2: list[ChatMessage] = [
        *ASK,
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "Now make the snake blue and add a score."},
    ]
    ids2 = llama.encode_chat(turn2)
    second = list(llama.stream_chat(turn2, GREEDY))
    last = second[-1]
    assert last.prompt_tokens == len(ids2)
    assert last.prefilled_tokens == len(ids2) - common_prefix(held, ids2)
    assert last.prefilled_tokens <= last.prompt_tokens - len(ids1)
    assert last.prefilled_tokens < last.prompt_tokens / 2

    with cold_engine(tiny_gguf) as cold:
        reference = list(cold.stream_chat(turn2, GREEDY))
    assert reference[-1].prefilled_tokens == reference[-1].prompt_tokens
    assert text_of(second) == text_of(reference)  # the reuse changed nothing but the work


@needs_llama
@pytest.mark.parametrize("penalty", [None, 1.3])
def test_regenerate_prefills_one_token_and_matches_cold(
    llama: Any, tiny_gguf: Path, penalty: float | None
) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=24, repetition_penalty=penalty)
    first = collect(llama.stream_chat(ASK, params))
    again = collect(llama.stream_chat(ASK, params))
    assert first.last.prefilled_tokens == first.last.prompt_tokens
    assert again.last.prefilled_tokens == 1
    with cold_engine(tiny_gguf) as cold:
        reference = collect(cold.stream_chat(ASK, params))
        assert cold.cached_tokens() == []  # reuse off: nothing kept
    assert first.text == again.text == reference.text


@needs_llama
def test_cancelled_prefill_leaves_a_consistent_cache(llama: Any, tiny_gguf: Path) -> None:
    llama.prefill_step_size = 16
    long_ask: list[ChatMessage] = [{"role": "user", "content": "Draw a chart of prime numbers. " * 20}]
    ids = llama.encode_chat(long_ask)
    assert len(ids) > 64
    # Checks: before the start, before step 1, before step 2, before step 3 -> cancelled there.
    aborted = list(llama.stream_chat(long_ask, GREEDY, CancelAfter(3)))
    assert [c.finish_reason for c in aborted] == ["cancelled"]
    assert aborted[0].generated_tokens == 0
    assert llama.cached_tokens() == ids[:32]
    resumed = collect(llama.stream_chat(long_ask, GREEDY))
    assert resumed.last.prefilled_tokens == len(ids) - 32
    with cold_engine(tiny_gguf) as cold:
        assert collect(cold.stream_chat(long_ask, GREEDY)).text == resumed.text


@needs_llama
def test_load_replaces_the_model_and_forgets_the_cache(llama: Any, eos_gguf: Path) -> None:
    collect(llama.stream_chat(ASK, GREEDY))
    assert llama.cached_tokens()
    info = llama.load(str(eos_gguf))
    assert info.path == str(eos_gguf) and llama.model is info
    assert llama.cached_tokens() == []
    assert collect(llama.stream_chat(ASK, GREEDY)).finish_reason == "stop"


@needs_llama
def test_context_limits(tiny_gguf: Path) -> None:
    from studio.engine.llamacpp import LlamaCppEngine

    with LlamaCppEngine(n_ctx=256) as eng:
        eng.load(str(tiny_gguf))
        big = [{"role": "user", "content": "prime numbers " * 100}]
        (only,) = list(eng.stream_chat(big, GREEDY))  # type: ignore[arg-type]
        assert only.finish_reason == "error" and "context holds 256" in (only.error or "")
        n = len(eng.encode_chat(ASK))
        done = collect(eng.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=500)))
        assert done.finish_reason == "length"
        assert n + done.last.generated_tokens <= 256
        assert done.last.generated_tokens > 100


@needs_llama
def test_errors_are_one_line(llama: Any, tmp_path: Path) -> None:
    from studio.engine.llamacpp import LlamaCppEngine

    bad = [{"role": "user"}]  # no content: the template cannot render it
    (chunk,) = list(llama.stream_chat(bad, GREEDY))  # type: ignore[arg-type]
    assert chunk.finish_reason == "error" and chunk.error and "\n" not in chunk.error
    assert collect(llama.stream_chat(ASK, GREEDY)).finish_reason == "length"  # still usable

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\0\0\0" + b"\xff" * 200)
    with LlamaCppEngine() as eng:
        with pytest.raises(ModelLoadError) as err:
            eng.load(str(broken))
        assert "\n" not in str(err.value) and "broken.gguf" in str(err.value)
        assert [c.finish_reason for c in eng.stream_chat(ASK, GREEDY)] == ["error"]
    closed = list(eng.stream_chat(ASK, GREEDY))
    assert [c.finish_reason for c in closed] == ["error"] and "closed" in (closed[0].error or "")
    with pytest.raises(EngineError):
        eng.encode_chat(ASK)


@needs_llama
def test_cli_generate_streams_with_figures(tiny_gguf: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "studio", "generate", "--engine", "llamacpp", "--model", str(tiny_gguf)]
    cmd += ["--prompt", "hi", "--prompt", "again", "--max-tokens", "8", "--temperature", "0", "--json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 3, proc.stderr  # ran fine; a random model writes no artifact
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    one, two = out["turns"]
    for fig in (one, two):
        assert fig["generated_tokens"] == 8 and fig["finish_reason"] == "length"
        assert fig["ttft_s"] > 0 and fig["tokens_per_s"] > 0 and fig["prompt_tokens_per_s"] > 0
    assert one["prefilled_tokens"] == one["prompt_tokens"]
    # Turn 2 reuses turn 1's prompt (and the answer as far as it re-tokenizes the same).
    assert two["prefilled_tokens"] <= two["prompt_tokens"] - one["prompt_tokens"]
