"""Small helpers of the MLX engine: architecture support and the repetition penalty."""

from __future__ import annotations

import importlib.util
from typing import Any

from studio.engine.base import PENALTY_CONTEXT


def mlx_supports(model_type: str) -> bool:
    """Whether the installed mlx-lm has an architecture for ``model_type``."""
    from mlx_lm.utils import MODEL_REMAPPING

    name = MODEL_REMAPPING.get(model_type, model_type)
    return importlib.util.find_spec(f"mlx_lm.models.{name}") is not None


def repetition_penalty(penalty: float, cached: list[int]) -> list[Any]:
    """mlx-lm's repetition penalty, also seeing the cached prompt prefix as a cold run would.

    ``generate_step`` hands logits processors only the tokens it was given (the uncached suffix);
    the last :data:`PENALTY_CONTEXT` cached ids are put in front so the penalty window matches.
    """
    import mlx.core as mx
    from mlx_lm.sample_utils import make_logits_processors

    (proc,) = make_logits_processors(repetition_penalty=penalty, repetition_context_size=PENALTY_CONTEXT)
    if not cached:
        return [proc]
    head = mx.array(cached[-PENALTY_CONTEXT:])

    def with_prefix(tokens: Any, logits: Any) -> Any:
        return proc(mx.concatenate([head, tokens]) if len(tokens) else head, logits)

    return [with_prefix]
