"""The MLX engine: mlx-lm's load / stream_generate on one worker thread, with prompt-cache reuse.

MLX streams belong to the thread that made them, so loading and generating both run on one
long-lived :class:`~studio.engine.worker.SerialWorker`. ``stream_chat`` may be called from any
thread: its generator receives :class:`Chunk` records from the worker through a queue.

Across turns the engine keeps the KV cache and the token ids it holds; a new prompt reuses the
longest common prefix and only the rest is prefilled (see :mod:`studio.engine.prompt_cache`).
"""

from __future__ import annotations

import importlib.util
import logging
import queue
import time
from pathlib import Path
from typing import Any, cast

from studio.engine.base import (
    CancelToken,
    ChatMessage,
    Chunk,
    EngineError,
    FinishReason,
    GenerationParams,
    ModelInfo,
    ModelLoadError,
)
from studio.engine.lookup import DraftStats, NgramDrafter, same_vocabulary
from studio.engine.mlx_lookup import lookup_stream
from studio.engine.mlx_support import mlx_supports, repetition_penalty
from studio.engine.modelcheck import ModelFolder, check_model_folder, resolve_model
from studio.engine.prompt_cache import PromptCache
from studio.engine.prompt_state import PromptStateStore, load_mlx, save_mlx
from studio.engine.threaded import ThreadedEngine, one_line, template_ids

log = logging.getLogger(__name__)


def _has_metal() -> bool:
    try:
        import mlx.core as mx

        return bool(mx.metal.is_available())
    except Exception:  # an MLX build without Metal
        return False


class _Cancelled(Exception):
    """Raised from the prefill progress callback to abort a long prompt."""


class MLXEngine(ThreadedEngine):
    """The :class:`~studio.engine.base.Engine` for mlx-lm.

    Args:
        prefill_step_size: prompt tokens per prefill step; cancel is checked between steps.
        prompt_cache: reuse the KV cache across turns (False: every answer prefills its prompt).
        hf_cache_dir: the Hugging Face hub cache repo ids are looked up in (default: the user's).
        prompt_lookup: draft tokens by n-gram match in the prompt and answer and verify them in one
            forward (:mod:`studio.engine.mlx_lookup`); the greedy output is the same as without it.
            None (default): on with Metal, where decoding is bound by memory bandwidth and checking
            ten tokens costs about as much as one; off on a CPU, where bench/edit_turns.py measured
            no gain (llama.cpp there).
        draft_model: a small model folder (or repo id) sharing the tokenizer, drafting for the
            loaded model through mlx-lm's speculative decoding (it replaces prompt lookup).
        num_draft_tokens: draft tokens per step with ``draft_model``.
        prompt_state_dir: where the system prompt's KV state is saved per model and prompt, so a
            new conversation prefills only the user's message (None: not saved).
    """

    name = "mlx"

    def __init__(
        self,
        *,
        prefill_step_size: int = 256,
        prompt_cache: bool = True,
        hf_cache_dir: str | Path | None = None,
        prompt_lookup: bool | None = None,
        draft_model: str | None = None,
        num_draft_tokens: int = 3,
        prompt_state_dir: str | Path | None = None,
    ) -> None:
        if importlib.util.find_spec("mlx_lm") is None:
            raise EngineError("the MLX engine needs mlx-lm (pip install mlx-lm; on Linux mlx[cpu] too)")
        self.prefill_step_size = prefill_step_size
        self.use_prompt_cache = prompt_cache
        self._hf_cache_dir = hf_cache_dir
        self.prompt_lookup = prompt_lookup  # None: on with Metal (decided at use: mlx loads late)
        self.draft_model = draft_model
        self.num_draft_tokens = max(1, num_draft_tokens)
        self.draft_stats = DraftStats()  # of the last answer (prompt lookup)
        super().__init__("studio-mlx")
        if prompt_state_dir is not None:
            from importlib.metadata import version

            self._states = PromptStateStore(prompt_state_dir, self.name, version("mlx-lm"))
        # Touched only on the worker thread:
        self._model: Any = None
        self._tokenizer: Any = None
        self._folder: ModelFolder | None = None
        self._draft: Any = None
        self._cache = PromptCache()

    # ------------------------------------------------------------------ protocol

    def load(self, model: str) -> ModelInfo:
        """Load a model folder or a repo id from the local Hugging Face cache.

        Raises:
            ModelLoadError: what is missing or broken, in one sentence.
        """
        path = resolve_model(model, cache_dir=self._hf_cache_dir)
        folder = check_model_folder(path, supported=mlx_supports)
        return self._load_with(self._load_on_worker, folder, model)

    def _drop_model(self) -> None:
        # On the worker: MLX memory is released on the thread that made it.
        import mlx.core as mx

        self._model = self._tokenizer = self._folder = self._draft = None
        self._cache.reset()
        mx.clear_cache()

    # ------------------------------------------------------------------ extras

    def cached_tokens(self) -> list[int]:
        """The token ids the prompt cache holds (after the answer in progress, if any)."""
        return self._worker.call(lambda: self._cache.tokens)

    # ------------------------------------------------------------------ worker side

    def _load_on_worker(self, folder: ModelFolder, name: str) -> ModelInfo:
        import mlx.core as mx
        from mlx_lm.utils import load_model, load_tokenizer

        self._model = self._tokenizer = self._folder = None
        self._cache.reset()
        mx.clear_cache()
        try:
            model, config = load_model(folder.path, lazy=False)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(
                f"weights in {folder.path} do not match config.json: {one_line(exc)}"
            ) from None
        except Exception as exc:
            raise ModelLoadError(f"cannot load the weights in {folder.path}: {one_line(exc)}") from None
        try:
            tokenizer = load_tokenizer(folder.path, eos_token_ids=config.get("eos_token_id"))
        except Exception as exc:
            raise ModelLoadError(f"cannot load the tokenizer in {folder.path}: {one_line(exc)}") from None
        if not folder.has_chat_template:
            log.warning("%s has no chat template; using plain ChatML", folder.path)
        self._draft = self._load_draft(folder.path) if self.draft_model else None
        self._model, self._tokenizer, self._folder = model, tokenizer, folder
        if self._states is not None:
            self._states.forget()
        bits = folder.quantization_bits
        log.info("loaded %s (%s, %.0f MB)", folder.path, folder.model_type, folder.weight_bytes / 1e6)
        return ModelInfo(
            name=name.rstrip("/").split("/")[-1] if Path(name).exists() else name,
            path=str(folder.path),
            engine=self.name,
            context_length=folder.context_length,
            quantization=f"{bits}-bit" if bits else None,
            extra={
                "model_type": folder.model_type,
                "weight_bytes": folder.weight_bytes,
                "chat_template": "model" if folder.has_chat_template else "chatml-fallback",
            },
        )

    def _load_draft(self, target: Path) -> Any:
        """The draft model, or None (logged) when it cannot draft for this model."""
        from mlx_lm.utils import load_model

        assert self.draft_model is not None
        try:
            path = resolve_model(self.draft_model, cache_dir=self._hf_cache_dir)
            check_model_folder(path, supported=mlx_supports)
            draft, _ = load_model(path, lazy=False)
        except Exception as exc:
            log.warning("no draft model: %s", one_line(exc))
            return None
        if not same_vocabulary(path, target):
            log.warning("no draft model: %s has another vocabulary than the model", path)
            return None
        log.info("draft model %s", path)
        return draft

    def _with_state(self, cache: list[Any], reused: int, token: CancelToken) -> tuple[list[Any], int, int]:
        """The system prompt's saved state when the cache lacks it; else prefill and save it.

        Returns:
            The cache, the ids it holds now, the ids of those not computed in this answer.
        """
        import mlx.core as mx

        prefix = self._prefix
        if self._states is None or self._draft is not None or self._folder is None or reused >= len(prefix):
            return cache, reused, reused
        template = getattr(self._tokenizer, "chat_template", None) or "chatml"
        path = self._states.path(self._folder.path, str(template), prefix, ".safetensors")
        loaded = self._states.load(path, lambda p: load_mlx(prefix, p))
        if loaded is not None:
            return loaded, len(prefix), len(prefix)
        for i in range(reused, len(prefix), self.prefill_step_size):
            if token.cancelled:
                return cache, i, reused
            self._model(mx.array(prefix[i : i + self.prefill_step_size])[None], cache=cache)
            mx.eval([c.state for c in cache])
        self._states.save(path, lambda p: save_mlx(cache, prefix, p))
        return cache, len(prefix), reused

    def _encode(self, messages: list[ChatMessage]) -> list[int]:
        assert self._folder is not None
        return template_ids(self._tokenizer, messages, has_template=self._folder.has_chat_template)

    def _loaded(self) -> bool:
        return self._model is not None

    def _after_failure(self) -> None:
        self._cache.reset()

    def _run(
        self,
        prompt: list[int],
        params: GenerationParams,
        token: CancelToken,
        out: queue.SimpleQueue[Chunk],
        t0: float,
    ) -> None:
        import mlx.core as mx
        from mlx_lm.generate import stream_generate
        from mlx_lm.models.cache import can_trim_prompt_cache
        from mlx_lm.sample_utils import make_sampler

        if self.use_prompt_cache:
            cache, reused = self._cache.take(self._model, prompt, self._draft)
        else:
            cache, reused = self._cache.fresh(self._model, self._draft), 0
        cache, reused, kept = self._with_state(cache, reused, token)
        suffix = prompt[reused:]
        if params.seed is not None:
            mx.random.seed(params.seed)
        mx.reset_peak_memory()
        sampler = make_sampler(params.temperature, params.top_p if params.top_p < 1.0 else 0.0)
        processors = None
        if params.repetition_penalty not in (None, 1.0):
            processors = repetition_penalty(params.repetition_penalty, prompt[:reused])

        def progress(done: int, total: int) -> None:
            if token.cancelled:
                raise _Cancelled

        base = {"prompt_tokens": len(prompt), "prefilled_tokens": len(prompt) - kept}
        generated: list[int] = []
        last = Chunk(**base)  # type: ignore[arg-type]
        finish: FinishReason | None = None
        error: str | None = None
        self.draft_stats = DraftStats()
        stream: Any
        lookup = self.prompt_lookup if self.prompt_lookup is not None else _has_metal()
        if lookup and self._draft is None and can_trim_prompt_cache(cache):
            stream = lookup_stream(
                self._model,
                self._tokenizer,
                suffix,
                cache,
                NgramDrafter(prompt),
                self.draft_stats,
                max_tokens=params.max_tokens,
                sampler=sampler,
                logits_processors=processors,
                prefill_step_size=self.prefill_step_size,
                prompt_progress_callback=progress,
            )
        else:
            extra: dict[str, Any] = {}
            if self._draft is not None:
                extra = {"draft_model": self._draft, "num_draft_tokens": self.num_draft_tokens}
            stream = stream_generate(
                self._model,
                self._tokenizer,
                mx.array(suffix),
                max_tokens=params.max_tokens,
                sampler=sampler,
                logits_processors=processors,
                prompt_cache=cache,
                prefill_step_size=self.prefill_step_size,
                prompt_progress_callback=progress,
                **extra,
            )
        try:
            for r in stream:
                generated.append(r.token)
                last = Chunk(
                    text=r.text,
                    generated_tokens=r.generation_tokens,
                    ttft=last.ttft if last.ttft is not None else time.perf_counter() - t0,
                    tps=r.generation_tps,
                    prompt_tps=r.prompt_tps,
                    peak_memory_gb=r.peak_memory,
                    finish_reason=cast(FinishReason | None, r.finish_reason),
                    **base,  # type: ignore[arg-type]
                )
                out.put(last)
                if r.finish_reason is not None:
                    finish = last.finish_reason
                    break
                if token.cancelled:
                    finish = "cancelled"
                    break
        except _Cancelled:
            finish = "cancelled"
        except Exception as exc:
            log.warning("generation error: %s", one_line(exc))
            finish, error = "error", one_line(exc)
        finally:
            stream.close()
            if finish == "error" or not self.use_prompt_cache:
                self._cache.reset()
            else:
                self._cache.settle(cache, prompt + generated)
        if finish in ("cancelled", "error"):
            out.put(
                Chunk(
                    generated_tokens=len(generated),
                    ttft=last.ttft,
                    tps=last.tps,
                    prompt_tps=last.prompt_tps,
                    peak_memory_gb=mx.get_peak_memory() / 1e9,
                    finish_reason=finish,
                    error=error,
                    **base,  # type: ignore[arg-type]
                )
            )
        elif finish is None:  # stream_generate ended without a finish_reason (should not happen)
            out.put(Chunk(finish_reason="error", error="the stream ended early", **base))  # type: ignore[arg-type]


__all__ = ["EngineError", "MLXEngine", "ModelLoadError", "mlx_supports"]
