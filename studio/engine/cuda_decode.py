"""The CUDA engine's per-token pieces: sampling, incremental detokenization, the prompt cache.

Everything here runs on the engine's worker thread; ``torch`` is passed in or imported inside
functions so that importing this module stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from studio.engine.base import PENALTY_CONTEXT, GenerationParams
from studio.engine.prompt_cache import common_prefix

log = logging.getLogger(__name__)

REPLACEMENT = "\ufffd"


class Detokenizer:
    """Turns generated ids into text deltas that never end inside a UTF-8 sequence.

    It decodes a short window of ids (from the last emitted boundary) and emits the new suffix
    only when it does not end with U+FFFD, the mark of an incomplete byte sequence (the offsets
    scheme of Hugging Face's text-generation-inference): constant work per token.

    Args:
        decode: ids -> text (special tokens kept, no clean-up of spaces).
    """

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self.ids: list[int] = []
        self._prefix = 0  # the window starts here
        self._read = 0  # ids before this are emitted

    def add(self, token: int) -> str:
        """Add one id; return the text that became complete (may be "")."""
        self.ids.append(token)
        done = self._decode(self.ids[self._prefix : self._read])
        text = self._decode(self.ids[self._prefix :])
        if len(text) > len(done) and not text.endswith(REPLACEMENT):
            self._prefix, self._read = self._read, len(self.ids)
            return text[len(done) :]
        return ""

    def flush(self) -> str:
        """The text still held back (at the end of an answer), U+FFFD for bytes that never completed."""
        done = self._decode(self.ids[self._prefix : self._read])
        text = self._decode(self.ids[self._prefix :])
        self._prefix = self._read = len(self.ids)
        return text[len(done) :] if len(text) > len(done) else ""


def make_generator(torch: Any, device: Any, seed: int | None) -> Any:
    """A seeded ``torch.Generator`` on ``device``, or None (the global generator) without a seed."""
    if seed is None:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def sample(torch: Any, logits: Any, params: GenerationParams, recent: list[int], generator: Any) -> int:
    """Pick the next token from one row of logits.

    Repetition penalty (as mlx-lm and transformers: divide positive logits, multiply negative ones)
    over the last :data:`PENALTY_CONTEXT` ids of prompt + answer; then greedy at temperature 0, else
    temperature, top-p (nucleus, at least one token kept) and a draw from ``generator``.
    """
    logits = logits.float()
    penalty = params.repetition_penalty
    if penalty not in (None, 1.0) and recent:
        ids = torch.tensor(recent[-PENALTY_CONTEXT:], device=logits.device)
        picked = logits[ids]
        logits = logits.clone()
        logits[ids] = torch.where(picked < 0, picked * penalty, picked / penalty)
    if params.temperature == 0:
        return int(torch.argmax(logits).item())
    logits = logits / params.temperature
    if params.top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True)
        probs = torch.softmax(ordered, dim=-1)
        drop = torch.cumsum(probs, dim=-1) - probs > params.top_p  # mass before this token
        ordered = ordered.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(0, order, ordered)
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator).item())


class KVPromptCache:
    """The transformers KV cache of the last answer and the token ids it holds.

    A new prompt reuses the longest common prefix (the cache is cropped to it) and only the rest
    is prefilled; at least one prompt token is always left to compute (the model needs an input).
    """

    def __init__(self) -> None:
        self._cache: Any = None
        self._tokens: list[int] = []

    @property
    def tokens(self) -> list[int]:
        return list(self._tokens)

    def reset(self) -> None:
        self._cache, self._tokens = None, []

    def take(self, new: Callable[[], Any], prompt: list[int]) -> tuple[Any, int]:
        """The cache to answer ``prompt`` with and how many of its tokens it already holds.

        The engine must call :meth:`settle` (or :meth:`reset`) when the answer ends.
        """
        cache, held = self._cache, self._tokens
        self.reset()  # until settle(): a failed answer must not leave a half-updated cache here
        if cache is None:
            return new(), 0
        keep = min(common_prefix(held, prompt), len(prompt) - 1)
        if keep <= 0:
            return new(), 0
        excess = cache.get_seq_length() - keep
        try:
            if excess > 0:
                cache.crop(-excess)  # a negative count removes that many (transformers 4.x and 5.x)
        except (RuntimeError, ValueError) as exc:  # e.g. a sliding-window layer past its window
            log.debug("prompt cache cannot be cropped (%s); starting cold", exc)
            return new(), 0
        if cache.get_seq_length() != keep:
            log.warning(
                "prompt cache out of step (%d, expected %d); starting cold", cache.get_seq_length(), keep
            )
            return new(), 0
        log.debug("prompt cache: reusing %d of %d prompt tokens", keep, len(prompt))
        return cache, keep

    def settle(self, cache: Any, seen: list[int]) -> None:
        """Record what ``cache`` holds after an answer; ``seen`` = prompt + generated ids."""
        held = cache.get_seq_length()
        if held > len(seen):  # cannot happen with our loop; never keep a token we do not know
            self.reset()
            return
        self._cache, self._tokens = cache, seen[:held]


__all__ = ["Detokenizer", "KVPromptCache", "make_generator", "sample"]
