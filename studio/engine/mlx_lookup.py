"""Prompt-lookup decoding for the MLX engine: n-gram drafts verified in one forward pass.

:func:`lookup_stream` stands in for mlx-lm's ``stream_generate`` (same responses, same stop rules)
when no draft model is used. Each step feeds the last token plus a draft from
:class:`~studio.engine.lookup.NgramDrafter`, samples every position with the same sampler and
logits processors as plain decoding, keeps the draft ids the model agrees with and trims the
rejected ones off the KV cache (``trim_prompt_cache``). Greedy output is the plain output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from studio.engine.lookup import DraftStats, NgramDrafter


@dataclass(frozen=True, slots=True)
class LookupResponse:
    """The fields of mlx-lm's ``GenerationResponse`` the engine reads."""

    text: str
    token: int
    prompt_tps: float
    generation_tokens: int
    generation_tps: float
    peak_memory: float
    finish_reason: str | None


def cache_offset(cache: list[Any]) -> int:
    """The number of positions the (uniform) KV cache holds."""
    return int(cache[0].offset)


def lookup_stream(
    model: Any,
    tokenizer: Any,
    suffix: list[int],
    cache: list[Any],
    drafter: NgramDrafter,
    stats: DraftStats,
    *,
    max_tokens: int,
    sampler: Callable[[Any], Any],
    logits_processors: list[Callable[[Any, Any], Any]] | None = None,
    prefill_step_size: int = 256,
    prompt_progress_callback: Callable[[int, int], None] | None = None,
) -> Generator[LookupResponse]:
    """Stream an answer to the prompt whose uncached part is ``suffix`` (at least one id).

    Args:
        drafter: holds the whole prompt; the answer's ids are appended to it.
        stats: filled with the drafted / accepted counts.

    The cache is left holding the prompt and every answer id but the last (as plain decoding
    leaves it), also when the generator is closed early.
    """
    import mlx.core as mx
    from mlx_lm.models.cache import trim_prompt_cache

    seen = list(suffix)  # what the logits processors see (as in plain decoding)
    start = cache_offset(cache)
    total = len(suffix)
    tic = time.perf_counter()
    if prompt_progress_callback is not None:  # as generate_step: at 0, then after each step
        prompt_progress_callback(0, total)
    for i in range(0, total - 1, prefill_step_size):
        chunk = suffix[i : min(i + prefill_step_size, total - 1)]
        model(mx.array(chunk)[None], cache=cache)
        mx.eval([c.state for c in cache])
        if prompt_progress_callback is not None:
            prompt_progress_callback(i + len(chunk), total)
    detok = tokenizer.detokenizer
    detok.reset()
    eos = set(tokenizer.eos_token_ids)
    generated: list[int] = []
    last, draft = suffix[-1], drafter.draft(max_tokens)
    prompt_tps = 0.0
    gen_start = tic

    def pick(logits: Any, n_rows: int) -> list[int]:
        if logits_processors:
            rows = []
            for r in range(n_rows):
                row = logits[r : r + 1]
                hist = mx.array(seen + draft[:r])
                for proc in logits_processors:
                    row = proc(hist, row)
                rows.append(row)
            logits = mx.concatenate(rows, axis=0)
        logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        picked = sampler(logprobs)
        mx.eval(picked)
        return [int(t) for t in picked.tolist()]

    try:
        while True:
            logits = model(mx.array([last, *draft])[None], cache=cache)[0]
            picked = pick(logits, len(draft) + 1)
            if not generated:
                prompt_tps = total / max(time.perf_counter() - tic, 1e-9)
                gen_start = time.perf_counter()
            confirmed = 0
            finish: str | None = None
            for j, tok in enumerate(picked):
                generated.append(tok)
                seen.append(tok)
                drafter.extend((tok,))
                n = len(generated)
                if tok in eos:
                    finish = "stop"
                else:
                    detok.add_token(tok)
                    if n >= max_tokens:
                        finish = "length"
                if finish is not None:
                    detok.finalize()
                yield LookupResponse(
                    text=detok.last_segment,
                    token=tok,
                    prompt_tps=prompt_tps,
                    generation_tokens=n,
                    generation_tps=n / max(time.perf_counter() - gen_start, 1e-9),
                    peak_memory=mx.get_peak_memory() / 1e9,
                    finish_reason=finish,
                )
                if finish is not None:
                    stats.add(len(draft), confirmed)
                    return
                if j >= len(draft) or tok != draft[j]:
                    break
                confirmed += 1
            stats.add(len(draft), confirmed)
            if confirmed < len(draft):
                trim_prompt_cache(cache, len(draft) - confirmed)
            last = generated[-1]
            draft = drafter.draft(max_tokens - len(generated))
    finally:  # keep prompt + answer minus its last id, never a draft id the answer did not take
        extra = cache_offset(cache) - (start + total + max(len(generated), 1) - 1)
        if extra > 0:
            trim_prompt_cache(cache, extra)


__all__ = ["LookupResponse", "cache_offset", "lookup_stream"]
