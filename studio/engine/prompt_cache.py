"""Prompt-cache reuse across turns (worker thread only): :func:`common_prefix`, shared by every local
engine, and the MLX engine's :class:`PromptCache`.

One KV cache is kept with the token ids it holds (the prompt and the answer generated after it).
A new prompt is compared with those ids; the cache is trimmed to the longest common prefix and
only the rest of the prompt is prefilled. This is mlx-lm ``server.py``'s ``LRUPromptCache``
reduced to the single conversation a desktop app has at a time.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _offset(cache: list[Any]) -> int | None:
    offsets = {getattr(c, "offset", None) for c in cache}
    return offsets.pop() if len(offsets) == 1 else None


class PromptCache:
    """The KV cache of the last answer and the token ids it holds."""

    def __init__(self) -> None:
        self._cache: list[Any] | None = None
        self._tokens: list[int] = []

    @property
    def tokens(self) -> list[int]:
        """The token ids the cache holds now (a copy)."""
        return list(self._tokens)

    def reset(self) -> None:
        """Forget the cache (after an error, a new model or with reuse off)."""
        self._cache, self._tokens = None, []

    def fresh(self, model: Any, draft: Any = None) -> list[Any]:
        """A new, empty cache for ``model`` (followed by one for the ``draft`` model, as mlx-lm wants)."""
        from mlx_lm.models.cache import make_prompt_cache

        self.reset()
        return make_prompt_cache(model) + (make_prompt_cache(draft) if draft is not None else [])

    def take(self, model: Any, prompt: list[int], draft: Any = None) -> tuple[list[Any], int]:
        """The cache to generate ``prompt`` with and how many of its tokens it already holds.

        At least one prompt token is always left to prefill (the model needs an input).
        The engine must call :meth:`settle` (or :meth:`reset`) when the answer ends.
        """
        from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

        if self._cache is None:
            return self.fresh(model, draft), 0
        keep = min(common_prefix(self._tokens, prompt), len(prompt) - 1)
        excess = len(self._tokens) - keep
        if keep == 0 or (excess > 0 and not can_trim_prompt_cache(self._cache)):
            return self.fresh(model, draft), 0
        if excess > 0:
            trim_prompt_cache(self._cache, excess)
        cache, self._tokens = self._cache, self._tokens[:keep]
        if _offset(cache) != keep:
            log.warning(
                "prompt cache out of step (offset %s, expected %d); starting cold", _offset(cache), keep
            )
            return self.fresh(model, draft), 0
        log.debug("prompt cache: reusing %d of %d prompt tokens", keep, len(prompt))
        return cache, keep

    def settle(self, cache: list[Any], seen: list[int]) -> None:
        """Record what ``cache`` holds after an answer; ``seen`` = prompt + generated ids.

        The cache can hold fewer ids than ``seen`` (a cancelled prefill) or one more (the
        look-ahead step); it is trimmed so that it never holds a token we do not know.
        """
        from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

        offset = _offset(cache)
        if offset is None:
            self.reset()
            return
        if offset > len(seen):
            if not can_trim_prompt_cache(cache):
                self.reset()
                return
            trim_prompt_cache(cache, offset - len(seen))
            offset = len(seen)
        self._cache, self._tokens = cache, seen[:offset]
