"""Every local engine on the real SmolLM2-135M-Instruct: its chat template, end of turn, cache, cancel.

The engines: llama.cpp on the published Q4_1 GGUF, MLX and the CUDA engine (``--device cpu``, float32)
on the float32 Hugging Face folder dequantised from it, and MLX on that folder quantized to 4 bits.
Decoding is greedy, so every answer is fixed by the weights; prompts are chosen so that the answers
end on their own well within ``max_tokens`` (the stop path) or run past it (the cancel path).
Prefilled-token counts of turn 2 are printed (``pytest -m real_model -rP`` shows them).

Same weights, same tokens: MLX and transformers read the same float32 folder and their greedy ids are
compared. llama.cpp runs the Q4_1 weights themselves (with 8-bit activations in its matmuls), so only its
prompt ids are compared with the others'; its greedy text matched the float32 engines' on some prompts
here and parted from it after a few tokens on others, so no test claims more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from real_model import RealModel

from studio.engine.base import CancelToken, ChatMessage, Chunk, GenerationParams, collect
from studio.engine.prompt_cache import common_prefix

pytestmark = pytest.mark.real_model

SPECIAL = ("<|im_end|>", "<|im_start|>", "<|endoftext|>")
# Greedy, every engine ends this answer on its own in 10-14 tokens ("The sky is ... blue.").
SHORT: list[ChatMessage] = [{"role": "user", "content": "Reply with one word: what color is the sky?"}]
FOLLOW_UP = "And the grass?"
LONG: list[ChatMessage] = [{"role": "user", "content": "Write a long story about a dragon who loves music."}]
GREEDY = GenerationParams(temperature=0.0, max_tokens=24, seed=0)
ENGINES = ("llamacpp", "mlx", "mlx-4bit", "cuda-cpu")


def _make(kind: str, model: RealModel):  # type: ignore[no-untyped-def]
    if kind == "llamacpp":
        pytest.importorskip("llama_cpp", reason="pip install 'artifacts-studio[llamacpp]'")
        from studio.engine.llamacpp import LlamaCppEngine

        eng, path = LlamaCppEngine(), model.gguf
    elif kind == "cuda-cpu":
        pytest.importorskip("torch", reason="pip install 'artifacts-studio[cuda]'")
        from studio.engine.cuda import CudaEngine

        eng, path = CudaEngine(device="cpu", quantization="fp32"), model.hf
    else:
        from studio.engine.mlx import MLXEngine

        eng, path = MLXEngine(), model.mlx if kind == "mlx-4bit" else model.hf
    eng.load(str(path))
    return eng


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest, real_model: RealModel) -> Iterator[object]:
    """One engine per kind with the real model loaded (module-wide: loading is the slow part)."""
    eng = _make(request.param, real_model)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def hf_tokenizer(real_model: RealModel):  # type: ignore[no-untyped-def]
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(real_model.hf), local_files_only=True)


def _turn2(first: str) -> list[ChatMessage]:
    return [*SHORT, {"role": "assistant", "content": first}, {"role": "user", "content": FOLLOW_UP}]


def test_the_model_chat_template(engine, hf_tokenizer) -> None:  # type: ignore[no-untyped-def]
    assert engine.model.extra["chat_template"] == "model"
    for messages in (SHORT, _turn2("Paris.")):
        ids = engine.encode_chat(messages)
        expected = hf_tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)
        assert ids == list(expected)  # llama.cpp's GGUF tokenizer included
    text = hf_tokenizer.decode(engine.encode_chat(SHORT))
    # SmolLM2's own template: its default system prompt, not the ChatML fallback's.
    assert text.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert text.endswith(f"<|im_start|>user\n{SHORT[0]['content']}<|im_end|>\n<|im_start|>assistant\n")


def test_stops_at_the_end_of_the_turn(engine) -> None:  # type: ignore[no-untyped-def]
    chunks = list(engine.stream_chat(SHORT, GREEDY))
    last = chunks[-1]
    text = "".join(c.text for c in chunks)
    assert last.finish_reason == "stop", (last, text)
    assert 1 < last.generated_tokens < GREEDY.max_tokens
    assert "sky" in text
    assert not any(s in text for s in SPECIAL), text
    assert all(c.finish_reason is None for c in chunks[:-1])


def test_regenerate_then_turn_two_reuse_the_prompt_cache(engine, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    first = collect(engine.stream_chat(SHORT, GREEDY))
    again = collect(engine.stream_chat(SHORT, GREEDY))  # Regenerate: the same prompt again
    assert again.last.prefilled_tokens == 1  # all but the prompt's last token came from the cache
    assert again.text == first.text and again.finish_reason == "stop"  # greedy is stable, warm or cold
    held = engine.cached_tokens()
    turn2 = _turn2(first.text)
    ids2 = engine.encode_chat(turn2)
    second = collect(engine.stream_chat(turn2, GenerationParams(temperature=0.0, max_tokens=4)))
    reused = common_prefix(held, ids2)
    print(
        f"{request.node.callspec.id}: turn 1 prefilled {first.last.prefilled_tokens} of "
        f"{first.last.prompt_tokens} prompt tokens, regenerate {again.last.prefilled_tokens}, "
        f"turn 2 {second.last.prefilled_tokens} of {second.last.prompt_tokens}"
    )
    assert second.last.prompt_tokens == len(ids2)
    assert second.last.prefilled_tokens == len(ids2) - reused
    # Turn 1's prompt and answer came from the cache: only the template's tail and turn 2 are new.
    assert reused >= first.last.prompt_tokens + first.last.generated_tokens - 1
    assert second.last.prefilled_tokens < 16


def test_cancel_from_another_thread(engine) -> None:  # type: ignore[no-untyped-def]
    seen = threading.Event()
    stopper = threading.Thread(target=lambda: (seen.wait(60), engine.cancel()))
    stopper.start()
    chunks: list[Chunk] = []
    try:
        for chunk in engine.stream_chat(LONG, GenerationParams(temperature=0.0, max_tokens=400)):
            chunks.append(chunk)
            if len(chunks) == 3:
                seen.set()
    finally:
        seen.set()
        stopper.join()
    last = chunks[-1]
    assert last.finish_reason == "cancelled"
    assert 3 <= last.generated_tokens < 400
    assert not any(s in "".join(c.text for c in chunks) for s in SPECIAL)
    # Usable at once: the same prompt again starts with the same greedy tokens.
    again = collect(engine.stream_chat(LONG, GenerationParams(temperature=0.0, max_tokens=3)))
    assert again.last.prefilled_tokens == 1 and again.finish_reason == "length"
    assert "".join(c.text for c in chunks).startswith(again.text)


def test_a_cancel_token_stops_before_any_token(engine) -> None:  # type: ignore[no-untyped-def]
    token = CancelToken()
    token.cancel()
    chunks = list(engine.stream_chat(LONG, GREEDY, token))
    assert [c.finish_reason for c in chunks] == ["cancelled"] and chunks[0].generated_tokens == 0


# ---------------------------------------------------------------- the same weights, the same tokens


def _greedy_ids(make: Callable[[], object], messages: list[ChatMessage], n: int) -> list[int]:
    """The prompt and the first ``n - 1`` greedy ids an engine fed back (its cache after the answer)."""
    eng = make()
    try:
        done = collect(eng.stream_chat(messages, GenerationParams(temperature=0.0, max_tokens=n)))
        assert done.finish_reason == "length", done
        return list(eng.cached_tokens())
    finally:
        eng.close()


def test_mlx_and_transformers_give_the_same_greedy_tokens(real_model: RealModel) -> None:
    n = 24
    mlx_ids = _greedy_ids(lambda: _make("mlx", real_model), LONG, n)
    torch_ids = _greedy_ids(lambda: _make("cuda-cpu", real_model), LONG, n)
    assert len(torch_ids) == len(mlx_ids[: len(torch_ids)]) > n // 2
    assert torch_ids == mlx_ids[: len(torch_ids)]
