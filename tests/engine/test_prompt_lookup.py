"""Prompt-lookup (n-gram) speculative decoding: the drafter, and identical greedy output per engine.

The tiny random models loop when decoding greedily, and the prompt repeats a phrase, so n-gram
drafts do get accepted; each identity test asserts that they were (else it could not fail).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from llamacpp_fixtures import needs_llama, tiny_gguf

from studio.engine.base import ChatMessage, GenerationParams, collect
from studio.engine.lookup import DraftStats, NgramDrafter, accepted_prefix
from studio.engine.mlx import MLXEngine

__all__ = ["tiny_gguf"]  # fixture, imported for pytest

COPY = "let speed = 4; ctx.fillStyle = 'red'; ctx.fillRect(x, y, 10, 10);\n" * 6
ASK: list[ChatMessage] = [{"role": "user", "content": "Repeat this code exactly:\n" + COPY}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=64)
HAVE_TORCH = importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------- the drafter


def test_drafter_proposes_what_followed_the_latest_match() -> None:
    d = NgramDrafter([1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 6], max_ngram=2, min_ngram=1, num_draft=3)
    assert d.draft() == []  # 6 never occurred before, nor "8 6"
    d.extend([2, 3])  # "2 3" occurred twice: the latest one was followed by 7 8 6
    assert d.draft() == [7, 8, 6]
    assert d.draft(limit=2) == [7, 8]
    d.extend([4])  # "3 4" matches the first occurrence only
    assert d.draft() == [5, 9, 2]


def test_drafter_prefers_the_longest_ngram() -> None:
    d = NgramDrafter([5, 1, 8, 7, 1, 9, 5, 1], max_ngram=2, min_ngram=1)
    assert d.draft()[:1] == [8]  # "5 1" -> 8 beats the later "1" -> 9
    assert NgramDrafter([5, 1, 8, 7, 1, 9, 3, 1], max_ngram=2, min_ngram=1).draft()[:1] == [9]
    assert NgramDrafter([1, 2], min_ngram=2).draft() == []
    with pytest.raises(ValueError):
        NgramDrafter(min_ngram=3, max_ngram=2)


def test_accepted_prefix_and_stats() -> None:
    assert accepted_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert accepted_prefix([1, 2], [1, 2, 9]) == 2
    assert accepted_prefix([], [7]) == 0
    stats = DraftStats()
    stats.add(0, 0)
    stats.add(5, 3)
    assert (stats.steps, stats.drafted, stats.accepted) == (1, 5, 3)


# ---------------------------------------------------------------- identity, engine by engine


def same_answer(make: Any, model: str, ask: list[ChatMessage] = ASK) -> tuple[Any, Any, DraftStats]:
    """Greedy answers with lookup off and on (and a second turn on the warm cache)."""
    with make(prompt_lookup=False) as plain:
        plain.load(model)
        off = collect(plain.stream_chat(ask, GREEDY))
        ids_off = plain.cached_tokens()
    with make(prompt_lookup=True) as spec:
        spec.load(model)
        on = collect(spec.stream_chat(ask, GREEDY))
        stats = spec.draft_stats
        ids_on = spec.cached_tokens()
        again = collect(spec.stream_chat(ask, GREEDY))  # the warm cache holds no rejected draft
        assert again.text == on.text
    assert on.text == off.text
    assert on.last.generated_tokens == off.last.generated_tokens
    assert on.finish_reason == off.finish_reason
    # The cache holds the same ids (plain MLX decoding also holds its look-ahead id), no draft id.
    assert ids_on == ids_off[: len(ids_on)] and len(ids_on) >= len(ids_off) - 1
    return off, on, stats


def test_mlx_lookup_is_identical_and_accepts_drafts(tiny_model_path: Path) -> None:
    _, _, stats = same_answer(MLXEngine, str(tiny_model_path))
    assert stats.accepted > 0, stats


def test_mlx_lookup_identical_with_a_repetition_penalty(tiny_model_path: Path) -> None:
    params = GenerationParams(temperature=0.0, max_tokens=64, repetition_penalty=1.1)
    with MLXEngine(prompt_lookup=False) as plain, MLXEngine(prompt_lookup=True) as spec:
        plain.load(str(tiny_model_path))
        spec.load(str(tiny_model_path))
        assert collect(spec.stream_chat(ASK, params)).text == collect(plain.stream_chat(ASK, params)).text
        assert spec.draft_stats.accepted > 0, spec.draft_stats


@pytest.mark.skipif(not HAVE_TORCH, reason="the CUDA engine needs PyTorch")
def test_cuda_lookup_is_identical_and_accepts_drafts(tiny_model_path: Path) -> None:
    from studio.engine.cuda import CudaEngine

    def make(**kw: Any) -> CudaEngine:
        return CudaEngine(device="cpu", quantization="fp32", **kw)

    _, _, stats = same_answer(make, str(tiny_model_path))
    assert stats.accepted > 0, stats


@pytest.mark.skipif(not HAVE_TORCH, reason="the CUDA engine needs PyTorch")
def test_cuda_lookup_seeded_sampling_is_reproducible(tiny_model_path: Path) -> None:
    from studio.engine.cuda import CudaEngine

    params = GenerationParams(temperature=0.8, top_p=0.9, max_tokens=40, seed=7)
    with CudaEngine(device="cpu", quantization="fp32", prompt_lookup=False) as plain:
        plain.load(str(tiny_model_path))
        off = collect(plain.stream_chat(ASK, params)).text
    with CudaEngine(device="cpu", quantization="fp32", prompt_lookup=True) as spec:
        spec.load(str(tiny_model_path))
        on = collect(spec.stream_chat(ASK, params)).text
    # One draw per emitted token, in the same order: the same answer.
    assert on == off


@needs_llama
def test_llamacpp_lookup_is_identical_and_accepts_drafts(tiny_gguf: Path) -> None:
    from studio.engine.llamacpp import LlamaCppEngine

    def make(**kw: Any) -> LlamaCppEngine:
        return LlamaCppEngine(n_ctx=1024, **kw)

    _, _, stats = same_answer(make, str(tiny_gguf))
    assert stats.accepted > 0, stats


def test_mlx_draft_model_gives_the_plain_answer(tiny_model_path: Path, eos_model_path: Path) -> None:
    # mlx-lm's speculative path with a draft of the same vocabulary: the target model decides.
    with MLXEngine(prompt_lookup=False) as plain:
        plain.load(str(tiny_model_path))
        expected = collect(plain.stream_chat(ASK, GREEDY)).text
    with MLXEngine(draft_model=str(eos_model_path)) as spec:
        spec.load(str(tiny_model_path))
        assert spec._draft is not None  # the draft loaded
        assert collect(spec.stream_chat(ASK, GREEDY)).text == expected
        warm = collect(spec.stream_chat(ASK, GREEDY))  # the cache (model + draft) is reused
        assert warm.text == expected
        assert warm.last.prefilled_tokens < warm.last.prompt_tokens


def test_mlx_unusable_draft_model_is_skipped(tiny_model_path: Path, tmp_path: Path) -> None:
    with MLXEngine(draft_model=str(tmp_path / "missing")) as eng:
        eng.load(str(tiny_model_path))
        assert eng._draft is None  # logged; the model still answers
        assert collect(eng.stream_chat(ASK, GREEDY)).finish_reason == "length"


@pytest.mark.skipif(not HAVE_TORCH, reason="the CUDA engine needs PyTorch")
def test_cuda_draft_model_is_identical_and_accepts_drafts(tiny_model_path: Path, tmp_path: Path) -> None:
    from studio.engine.cuda import CudaEngine

    def make(prompt_lookup: bool) -> CudaEngine:  # the model drafts for itself: its drafts are its answer
        draft = str(tiny_model_path) if prompt_lookup else None
        return CudaEngine(device="cpu", quantization="fp32", prompt_lookup=False, draft_model=draft)

    _, _, stats = same_answer(make, str(tiny_model_path))
    assert stats.accepted > 0 and stats.accepted >= stats.drafted // 2, stats
    with CudaEngine(device="cpu", quantization="fp32", draft_model=str(tmp_path / "missing")) as eng:
        eng.load(str(tiny_model_path))  # an unusable draft is logged and skipped
        assert collect(eng.stream_chat(ASK, GREEDY)).finish_reason == "length"
