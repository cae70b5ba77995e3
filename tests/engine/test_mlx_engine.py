"""The MLX engine through the real mlx_lm.load and stream_generate, on a tiny real model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cancel_after import CancelAfter

from studio.engine.base import ChatMessage, Chunk, Engine, GenerationParams, collect
from studio.engine.mlx import MLXEngine
from studio.engine.prompt_cache import common_prefix

ASK: list[ChatMessage] = [{"role": "user", "content": "Make a snake game as one HTML file."}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=24)


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def test_is_an_engine(engine: MLXEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.name == "mlx"
    info = engine.model
    assert info is not None and info.engine == "mlx"
    assert info.extra["model_type"] == "qwen2"
    assert info.extra["chat_template"] == "model"
    assert info.context_length == 4096


def test_streams_chunks_with_growing_counters(engine: MLXEngine) -> None:
    chunks = list(engine.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=16)))
    assert len(chunks) == 16
    assert [c.generated_tokens for c in chunks] == list(range(1, 17))
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert chunks[-1].finish_reason == "length"
    prompt = len(engine.encode_chat(ASK))
    assert {c.prompt_tokens for c in chunks} == {prompt}
    assert {c.prefilled_tokens for c in chunks} == {prompt}  # cold: the whole prompt
    ttfts = {c.ttft for c in chunks}
    assert len(ttfts) == 1 and 0 < chunks[0].ttft < 10  # type: ignore[operator]
    assert all(c.tps > 0 and c.prompt_tps > 0 for c in chunks)
    assert all(c.peak_memory_gb is not None and c.peak_memory_gb > 0 for c in chunks)
    assert text_of(chunks)


def test_max_tokens_gives_length_and_exactly_n_tokens(engine: MLXEngine) -> None:
    for n in (1, 7):
        done = collect(engine.stream_chat(ASK, GenerationParams(temperature=0.7, max_tokens=n, seed=1)))
        assert done.finish_reason == "length"
        assert done.last.generated_tokens == n


def test_stop_on_eos(eos_model_path: Path) -> None:
    with MLXEngine() as eng:
        eng.load(str(eos_model_path))
        chunks = list(eng.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=50)))
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].generated_tokens == 1  # the <|im_end|> itself
    assert text_of(chunks) == ""  # the stop token is not shown


def test_temperature_zero_is_deterministic(engine: MLXEngine) -> None:
    a = collect(engine.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=24, seed=1)))
    b = collect(engine.stream_chat(ASK, GenerationParams(temperature=0.0, max_tokens=24, seed=2)))
    assert a.text and a.text == b.text


def test_seed_reproducible_and_seeds_differ(engine: MLXEngine) -> None:
    def run(seed: int) -> str:
        params = GenerationParams(temperature=1.0, top_p=1.0, max_tokens=32, seed=seed)
        return collect(engine.stream_chat(ASK, params)).text

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other


def test_cancel_from_another_thread(engine: MLXEngine) -> None:
    seen = threading.Event()

    def canceller() -> None:
        seen.wait(10)
        engine.cancel()

    thread = threading.Thread(target=canceller)
    thread.start()
    chunks: list[Chunk] = []
    for chunk in engine.stream_chat(ASK, GenerationParams(temperature=0.8, max_tokens=20000, seed=3)):
        chunks.append(chunk)
        if len(chunks) == 3:
            seen.set()
    thread.join()
    last = chunks[-1]
    assert last.finish_reason == "cancelled"
    # Every token streamed, then the end; how far the worker ran ahead depends on scheduling (not
    # bounded here: test_cancel_token_passed_in bounds it exactly).
    assert last.generated_tokens == len(chunks) - 1 < 20000


def test_cancel_token_passed_in(engine: MLXEngine) -> None:
    chunks = list(engine.stream_chat(ASK, GenerationParams(max_tokens=20000, seed=3), CancelAfter(6)))
    assert chunks[-1].finish_reason == "cancelled"
    # The worker checks the flag before the prompt, per prefill step and after every token, and stops at
    # the first check that reads cancelled: at most 6 tokens, whatever the scheduling.
    assert 0 < chunks[-1].generated_tokens <= 6 and chunks[-1].generated_tokens == len(chunks) - 1


def test_closing_the_generator_cancels(engine: MLXEngine) -> None:
    prompt = len(engine.encode_chat(ASK))
    stream = engine.stream_chat(ASK, GenerationParams(temperature=0.8, max_tokens=20000, seed=5))
    for _ in range(3):
        next(stream)
    stream.close()
    held = engine.cached_tokens()  # runs on the worker after the cancelled answer ended
    assert prompt + 3 <= len(held) < prompt + 20000  # stopped (how far it ran ahead is scheduling)
    again = collect(engine.stream_chat(ASK, GREEDY))
    assert again.finish_reason == "length"


def test_prompt_cache_reused_on_turn_two(engine: MLXEngine, tiny_model_path: Path) -> None:
    first = collect(engine.stream_chat(ASK, GREEDY))
    held = engine.cached_tokens()
    turn2: list[ChatMessage] = [
        *ASK,
        {"role": "assistant", "content": first.text},
        {"role": "user", "content": "Now make the snake blue and add a score."},
    ]
    ids2 = engine.encode_chat(turn2)
    second = list(engine.stream_chat(turn2, GREEDY))
    last = second[-1]
    assert last.prompt_tokens == len(ids2)
    # Exactly the tokens after the longest common prefix with what the cache held were computed,
    # and that prefix covers at least the whole first prompt.
    assert last.prefilled_tokens == len(ids2) - common_prefix(held, ids2)
    assert last.prefilled_tokens <= last.prompt_tokens - first.last.prompt_tokens
    assert last.prefilled_tokens < last.prompt_tokens / 2

    with MLXEngine(prompt_cache=False) as cold:
        cold.load(str(tiny_model_path))
        reference = list(cold.stream_chat(turn2, GREEDY))
    assert reference[-1].prefilled_tokens == reference[-1].prompt_tokens
    assert text_of(second) == text_of(reference)  # the cache changed nothing but the work


@pytest.mark.parametrize("penalty", [None, 1.3])
def test_regenerate_prefills_one_token_and_matches_cold(
    engine: MLXEngine, tiny_model_path: Path, penalty: float | None
) -> None:
    # A prompt made of the model's own favourite tokens, so a repetition penalty that missed the
    # cached prompt tokens would change the answer.
    echo: list[ChatMessage] = [{"role": "user", "content": collect(engine.stream_chat(ASK, GREEDY)).text}]
    params = GenerationParams(temperature=0.0, max_tokens=24, repetition_penalty=penalty)
    first = collect(engine.stream_chat(echo, params))
    warm = collect(engine.stream_chat(echo, params))
    assert warm.last.prefilled_tokens == 1  # the whole prompt was cached; one token feeds the model
    with MLXEngine(prompt_cache=False) as cold_engine:
        cold_engine.load(str(tiny_model_path))
        cold = collect(cold_engine.stream_chat(echo, params))
    assert cold.last.prefilled_tokens == cold.last.prompt_tokens
    assert warm.text == first.text == cold.text


def test_cancelled_prefill_leaves_a_consistent_cache(engine: MLXEngine, tiny_model_path: Path) -> None:
    engine.prefill_step_size = 16
    long_ask: list[ChatMessage] = [{"role": "user", "content": "Draw a chart of prime numbers. " * 20}]
    ids = engine.encode_chat(long_ask)
    assert len(ids) > 64
    # Checks: before the start, at prefill 0/N, after step 1, after step 2 -> cancelled there.
    aborted = list(engine.stream_chat(long_ask, GREEDY, CancelAfter(3)))
    assert [c.finish_reason for c in aborted] == ["cancelled"]
    assert aborted[0].generated_tokens == 0
    assert engine.cached_tokens() == ids[:32]
    resumed = collect(engine.stream_chat(long_ask, GREEDY))
    assert resumed.last.prefilled_tokens == len(ids) - 32
    with MLXEngine(prompt_cache=False) as cold:
        cold.load(str(tiny_model_path))
        assert collect(cold.stream_chat(long_ask, GREEDY)).text == resumed.text


def test_stream_chat_from_two_threads_in_turn(engine: MLXEngine) -> None:
    results: dict[str, list[Chunk]] = {}

    def run(name: str) -> None:
        results[name] = list(engine.stream_chat(ASK, GREEDY))

    for name in ("a", "b"):
        thread = threading.Thread(target=run, args=(name,))
        thread.start()
        thread.join(30)
    assert results["a"][-1].finish_reason == results["b"][-1].finish_reason == "length"
    assert text_of(results["a"]) == text_of(results["b"])
    assert results["b"][-1].prefilled_tokens == 1


def test_unconsumed_stream_does_no_work(engine: MLXEngine) -> None:
    before = engine.cached_tokens()
    engine.stream_chat(ASK, GREEDY)  # never iterated
    assert engine.cached_tokens() == before


def test_chat_template_failure_is_an_error_chunk(engine: MLXEngine) -> None:
    bad = [{"role": "user"}]  # no content: the template cannot render it
    chunks = list(engine.stream_chat(bad, GREEDY))  # type: ignore[arg-type]
    assert len(chunks) == 1
    assert chunks[0].finish_reason == "error"
    assert chunks[0].error and "\n" not in chunks[0].error
    assert collect(engine.stream_chat(ASK, GREEDY)).finish_reason == "length"  # still usable


def test_no_model_and_closed_engine_give_error_chunks(tiny_model_path: Path) -> None:
    eng = MLXEngine()
    assert eng.model is None
    chunks = list(eng.stream_chat(ASK, GREEDY))
    assert [c.finish_reason for c in chunks] == ["error"]
    assert chunks[0].error == "no model is loaded"
    eng.load(str(tiny_model_path))
    eng.close()
    closed = list(eng.stream_chat(ASK, GREEDY))
    assert [c.finish_reason for c in closed] == ["error"]
    assert "closed" in (closed[0].error or "")


def test_load_replaces_the_model_and_resets_the_cache(engine: MLXEngine, eos_model_path: Path) -> None:
    collect(engine.stream_chat(ASK, GREEDY))
    assert engine.cached_tokens()
    info = engine.load(str(eos_model_path))
    assert info.path == str(eos_model_path)
    assert engine.cached_tokens() == []
    assert collect(engine.stream_chat(ASK, GREEDY)).finish_reason == "stop"


@pytest.mark.parametrize("lookup", [False, True])
def test_turn_two_reuses_the_generated_tokens(eos_model_path: Path, lookup: bool) -> None:
    # The eos model answers "" + <|im_end|>: turn 2's template renders exactly that answer, so
    # the cache hit covers the first prompt and (plain decoding computes one step ahead) the
    # generated <|im_end|> token; prompt lookup never feeds the last token, so it holds the prompt.
    ahead = 0 if lookup else 1
    with MLXEngine(prompt_lookup=lookup) as eng:
        eng.load(str(eos_model_path))
        first = collect(eng.stream_chat(ASK, GREEDY))
        assert first.finish_reason == "stop" and first.text == ""
        ids1 = eng.encode_chat(ASK)
        assert len(eng.cached_tokens()) == len(ids1) + ahead
        turn2: list[ChatMessage] = [
            *ASK,
            {"role": "assistant", "content": first.text},
            {"role": "user", "content": "Again, please."},
        ]
        ids2 = eng.encode_chat(turn2)
        assert ids2[: len(ids1) + ahead] == eng.cached_tokens()
        second = collect(eng.stream_chat(turn2, GREEDY))
    assert second.last.prefilled_tokens == len(ids2) - len(ids1) - ahead
