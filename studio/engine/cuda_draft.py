"""A draft model for the CUDA engine: a small model of the same tokenizer proposes the next ids.

:class:`ModelDrafter` has the drafter interface of :class:`~studio.engine.lookup.NgramDrafter`
(``extend`` the accepted ids, ``draft`` a few more), so the engine's verify loop is the same for
both: the target model checks a whole draft in one forward and keeps what it agrees with. The
draft model keeps its own KV cache, cropped back to the ids the answer actually took.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from studio.engine.prompt_cache import common_prefix

DEFAULT_DRAFT_TOKENS = 4


class ModelDrafter:
    """Greedy drafts from a small model.

    Args:
        forward: ``(ids, cache) -> logits of the last position`` for the draft model.
        new_cache: a new, empty KV cache for the draft model.
        tokens: the ids so far (the prompt).
        num_draft: the most ids one draft holds.
    """

    def __init__(
        self,
        forward: Callable[[list[int], Any], Any],
        new_cache: Callable[[], Any],
        tokens: Iterable[int] = (),
        *,
        num_draft: int = DEFAULT_DRAFT_TOKENS,
    ) -> None:
        self._forward, self._cache = forward, new_cache()
        self._held: list[int] = []  # the ids the draft cache holds
        self.tokens: list[int] = list(tokens)
        self.num_draft = max(1, num_draft)

    def extend(self, tokens: Iterable[int]) -> None:
        """Append ids the answer took."""
        self.tokens.extend(int(t) for t in tokens)

    def draft(self, limit: int | None = None) -> list[int]:
        """The draft model's greedy continuation of :attr:`tokens` (at most ``limit`` ids)."""
        k = self.num_draft if limit is None else min(limit, self.num_draft)
        if k <= 0 or not self.tokens:
            return []
        keep = min(common_prefix(self._held, self.tokens), len(self.tokens) - 1)
        excess = self._cache.get_seq_length() - keep
        if excess > 0:
            self._cache.crop(-excess)
        logits = self._forward(self.tokens[keep:], self._cache)
        self._held = list(self.tokens)
        out: list[int] = []
        while True:
            tok = int(logits.argmax().item())
            out.append(tok)
            if len(out) == k:
                return out
            logits = self._forward([tok], self._cache)
            self._held.append(tok)


__all__ = ["DEFAULT_DRAFT_TOKENS", "ModelDrafter"]
