"""The system prompt paid once: its KV state saved to disk and loaded by a new engine, per engine.

A new engine object stands for a restart. The prefilled-token counts the engines report show what
was computed; the answers are compared with an engine that saves no state.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from llamacpp_fixtures import needs_llama, tiny_gguf

from studio.engine.base import ChatMessage, GenerationParams, collect
from studio.engine.mlx import MLXEngine
from studio.engine.prompt_state import system_prefix

__all__ = ["tiny_gguf"]  # fixture, imported for pytest

SYSTEM = "You write one self-contained HTML file per answer. Keep the code short and readable. " * 4
GREEDY = GenerationParams(temperature=0.0, max_tokens=12)
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def chat(user: str, system: str = SYSTEM) -> list[ChatMessage]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def check_engine(
    make: Callable[..., Any], model: str, states: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = chat("Make a red ball bounce."), chat("Draw a clock with a blue face.")
    with make(prompt_state_dir=states) as a:  # the first run: computes and saves the prefix
        a.load(model)
        ids = a.encode_chat(second)
        prefix = system_prefix(a.encode_chat, second)
        assert 8 <= len(prefix) < len(ids) and ids[: len(prefix)] == prefix
        done = collect(a.stream_chat(first, GREEDY))
        assert done.last.prefilled_tokens == done.last.prompt_tokens
    saved = [p for p in states.iterdir() if not p.name.startswith(".")]
    assert len(saved) == 1
    with make(prompt_state_dir=None) as cold:
        cold.load(model)
        expected = collect(cold.stream_chat(second, GREEDY)).text
    with make(prompt_state_dir=states) as b:  # "after a restart": only the user's part is computed
        b.load(model)
        warm = collect(b.stream_chat(second, GREEDY))
        assert warm.last.prefilled_tokens == len(ids) - len(prefix)
        assert warm.text == expected
    with make(prompt_state_dir=states) as c:  # another system prompt: a full prefill (and a new file)
        c.load(model)
        other = collect(
            c.stream_chat(chat("Draw a clock with a blue face.", system="Be brief. " * 20), GREEDY)
        )
        assert other.last.prefilled_tokens == other.last.prompt_tokens
    assert len([p for p in states.iterdir() if not p.name.startswith(".")]) == 2
    saved[0].write_bytes(saved[0].read_bytes()[: saved[0].stat().st_size // 2])  # a torn file
    with caplog.at_level(logging.WARNING, logger="studio.engine"), make(prompt_state_dir=states) as d:
        d.load(model)
        torn = collect(d.stream_chat(second, GREEDY))
        assert torn.finish_reason == "length"
        assert torn.last.prefilled_tokens == len(ids)
        assert torn.text == expected
    assert any("ignoring the saved prompt state" in r.getMessage() for r in caplog.records)
    with make(prompt_state_dir=states) as e:  # the torn file was replaced by a good one
        e.load(model)
        assert collect(e.stream_chat(second, GREEDY)).last.prefilled_tokens == len(ids) - len(prefix)


def test_mlx_saves_and_loads_the_system_prompt(
    tiny_model_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    check_engine(MLXEngine, str(tiny_model_path), tmp_path / "states", caplog)


@pytest.mark.skipif(not HAVE_TORCH, reason="the CUDA engine needs PyTorch")
def test_cuda_saves_and_loads_the_system_prompt(
    tiny_model_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from studio.engine.cuda import CudaEngine

    def make(**kw: Any) -> CudaEngine:
        return CudaEngine(device="cpu", quantization="fp32", **kw)

    check_engine(make, str(tiny_model_path), tmp_path / "states", caplog)


@needs_llama
def test_llamacpp_saves_and_loads_the_system_prompt(
    tiny_gguf: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from studio.engine.llamacpp import LlamaCppEngine

    def make(**kw: Any) -> LlamaCppEngine:
        return LlamaCppEngine(n_ctx=1024, **kw)

    check_engine(make, str(tiny_gguf), tmp_path / "states", caplog)


def test_a_changed_model_file_misses_the_saved_state(tmp_path: Path) -> None:
    from studio.engine.prompt_state import PromptStateStore

    model = tmp_path / "m.gguf"
    model.write_bytes(b"x" * 10)
    store = PromptStateStore(tmp_path / "s", "llamacpp", "1")
    before = store.path(model, "tpl", [1, 2, 3], ".kv")
    assert store.path(model, "tpl", [1, 2, 3], ".kv") == before
    assert store.path(model, "other", [1, 2, 3], ".kv") != before
    assert store.path(model, "tpl", [1, 2, 4], ".kv") != before
    assert PromptStateStore(tmp_path / "s", "llamacpp", "2").path(model, "tpl", [1, 2, 3], ".kv") != before
    model.write_bytes(b"x" * 11)
    assert store.path(model, "tpl", [1, 2, 3], ".kv") != before


def test_only_the_most_recently_used_states_are_kept(tmp_path: Path) -> None:
    import os

    from studio.engine.prompt_state import KEEP_FILES, PromptStateStore

    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    store = PromptStateStore(tmp_path / "s", "llamacpp", "1")
    paths = [store.path(model, "tpl", [i] * 8, ".kv") for i in range(KEEP_FILES + 2)]
    for i, p in enumerate(paths):
        store.save(p, lambda t: t.write_bytes(b"state"))
        os.utime(p, ns=(i * 10**9, i * 10**9))  # saved one second after the other
    assert store.load(paths[2], lambda p: p.read_bytes()) == b"state"  # used again: now the newest
    store.save(paths[0], lambda t: t.write_bytes(b"state"))
    kept = {p.name for p in (tmp_path / "s").iterdir()}
    assert len(kept) == KEEP_FILES and paths[2].name in kept and paths[0].name in kept
    assert paths[1].name not in kept and paths[3].name not in kept
