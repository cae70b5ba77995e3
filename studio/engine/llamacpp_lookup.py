"""Prompt-lookup decoding for the llama.cpp engine: n-gram drafts verified in one llama.cpp batch.

It stands in for ``Llama.generate`` once the prompt is evaluated: the same sampler chain
(``Llama._init_sampler`` with the same arguments), but each step decodes the last token plus a
draft from :class:`~studio.engine.lookup.NgramDrafter` as one batch with logits for every
position, samples position by position while the picks confirm the draft, and removes the
rejected draft cells from the KV cache.

Why not ``Llama(draft_model=LlamaPromptLookupDecoding())``, llama-cpp-python's own path: it
turns on ``logits_all`` for every batch (the prompt too: a vocabulary-wide matmul per prompt
token) and copies every position's logits into ``Llama.scores``, which it sizes for ``n_batch``
rows unless ``logits_all=True`` was also passed, in which case it holds ``n_ctx x n_vocab``
floats (10 GB for Qwen's vocabulary at 16k context). Past ``n_batch`` positions without it,
``eval`` fails ("could not broadcast ... into shape (0,)"). Its drafter also scans the whole
context per token and takes the first match rather than the latest.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from studio.engine.lookup import DraftStats, NgramDrafter


def lookup_generate(llm: Any, drafter: NgramDrafter, stats: DraftStats, **sampling: Any) -> Generator[int]:
    """Yield sampled ids after an evaluated prompt (``llm.n_tokens`` ids, the last one's logits ready).

    Args:
        llm: a ``llama_cpp.Llama`` whose last ``eval`` ended with the prompt.
        drafter: holds the prompt; the answer's ids are appended to it.
        stats: filled with the drafted / accepted counts.
        **sampling: ``Llama._init_sampler`` arguments (temp, top_p, top_k, ...).

    ``llm.input_ids[:llm.n_tokens]`` always matches what the KV cache holds (verified draft ids
    included), so the engine's prefix reuse stays exact when the consumer stops early.
    """
    sampler = llm._sampler = llm._init_sampler(**sampling)
    ctx, n_ctx = llm._ctx, llm.n_ctx()
    draft: list[int] = []
    while True:
        rows = len(draft) + 1
        confirmed = 0
        tok = -1
        for i in range(rows):
            tok = int(sampler.sample(ctx, i - rows))  # the batch's rows, counted from its end
            drafter.extend((tok,))
            yield tok
            if i >= len(draft) or tok != draft[i]:
                break
            confirmed += 1
        stats.add(len(draft), confirmed)
        keep = llm.n_tokens - (len(draft) - confirmed)
        if keep < llm.n_tokens:  # drop the rejected draft cells
            ctx.kv_cache_seq_rm(-1, keep, -1)
            llm.n_tokens = keep
        draft = drafter.draft(max(0, n_ctx - keep - 2))
        batch = [tok, *draft]
        llm._batch.set_batch(batch=batch, n_past=keep, logits_all=True)
        ctx.decode(llm._batch)
        llm.input_ids[keep : keep + len(batch)] = batch
        llm.n_tokens = keep + len(batch)


__all__ = ["lookup_generate"]
