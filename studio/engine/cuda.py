"""The CUDA engine: transformers + PyTorch on an NVIDIA GPU (or the CPU), token by token.

``CudaEngine(device="auto", quantization="auto")`` loads a Hugging Face model folder with
``AutoModelForCausalLM`` on its own worker thread (torch is imported there, so constructing the
engine is cheap) and drives generation itself: chunked prefill (cancel is checked between chunks),
then one forward per token with the transformers KV cache (``DynamicCache``), sampling in torch
and incremental detokenization. It does not use ``model.generate`` with a streamer thread, so
cancel, closing the stream and the figures behave as in the MLX and llama.cpp engines. The KV cache
and the ids it holds are kept across turns; a new prompt reuses the longest common prefix
(``DynamicCache.crop``) and only the rest is prefilled.

Device and dtype (``quantization="auto"``):

- CUDA: NF4 4-bit through bitsandbytes (``BitsAndBytesConfig(load_in_4bit=True,
  bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=bfloat16, bnb_4bit_use_double_quant=True)``)
  when bitsandbytes and accelerate import, else bf16 (fp16 on GPUs without bf16).
- CPU: bf16 where the CPU computes it natively (AVX512-BF16 / AMX on x86, FEAT_BF16 on ARM), else
  float32. Qwen's weights are stored in bf16, so bf16 is their own precision, not a lossy step.
  Measured on the 2-core development machine (AVX512-BF16, torch 2.14.1, other jobs running, so
  noisy), a Qwen2.5-Coder-0.5B-shaped model: one decode step 166 ms in fp32 against 83 ms in bf16
  (best of 8 steps x 3 runs); prefill of 256 tokens 1.65 s against 2.81 s in that run, though
  bench/cuda_decode.py measured bf16 prefill about twice as fast as fp32 in another. Decode
  dominates an answer of hundreds of tokens, so bf16. CPUs without native bf16 were not measured
  (PyTorch emulates it there), hence float32 on them.

Why NF4 rather than a pre-quantized AWQ or GPTQ repository (reasoned from the docs; there is no
GPU on the development machines, so nothing GPU-side here is measured):

- transformers 5.x loads AWQ and GPTQ checkpoints only through ``gptqmodel``
  (``quantizer_awq.validate_environment``), whose install compiles CUDA kernels
  (``pip install gptqmodel --no-build-isolation`` in transformers' GPTQ guide); AutoAWQ is
  officially deprecated (its PyPI page: last tested with torch 2.6 and transformers 4.51.3).
  bitsandbytes installs as a prebuilt wheel, so ``pip install 'artifacts-studio[cuda]'`` stays
  wheels-only.
- NF4 quantizes the official ``Qwen/Qwen2.5-Coder-<S>-Instruct`` repository while loading: one
  download serves both the ``nf4`` and ``bf16`` catalog forms, and no calibration is needed.
- A desktop chat decodes at batch size 1; bitsandbytes 0.40 added 4-bit kernels for exactly that
  case, announced at about 3.4x (Ampere) to 4x (Hopper/Ada) the speed of 16-bit matmuls with an
  inner dimension >= 4096 (the 7B's hidden size is 3584, its MLP 18944): decode is bound by
  weight bytes, and NF4 reads about a third of bf16's (5.5 vs 15.2 GB for the 7B, see
  :mod:`studio.models.cuda_catalog`).
- The costs: the download is the bf16 size (15 GB for the 7B against about 5.5 GB for AWQ),
  every load spends time quantizing, prefill dequantizes before each matmul (slower than bf16
  or Marlin kernels), and NF4 is not calibrated the way AWQ is. A folder that already carries a
  ``quantization_config`` (AWQ, GPTQ, bitsandbytes) still loads as saved when its library is
  installed.

Errors are one line: PyTorch missing (with the install command), a device that is not there, out
of memory (naming a model that fits, from :func:`studio.models.catalog.recommend`), a broken
folder (:mod:`studio.engine.modelcheck`).
"""

from __future__ import annotations

import gc
import inspect
import logging
import queue
import time
from pathlib import Path
from typing import Any

from studio.engine.base import (
    PENALTY_CONTEXT,
    CancelToken,
    ChatMessage,
    Chunk,
    EngineError,
    FinishReason,
    GenerationParams,
    ModelInfo,
    ModelLoadError,
)
from studio.engine.cuda_decode import Detokenizer, KVPromptCache, make_generator, sample
from studio.engine.cuda_draft import DEFAULT_DRAFT_TOKENS, ModelDrafter
from studio.engine.cuda_support import (
    check_options,
    eos_ids,
    import_torch,
    is_oom,
    load_model,
    oom_message,
    plan_load,
    resolve_device,
    transformers_supports,
)
from studio.engine.lookup import DraftStats, NgramDrafter, same_vocabulary
from studio.engine.modelcheck import ModelFolder, check_model_folder, resolve_model
from studio.engine.prompt_state import PromptStateStore, load_torch, save_torch
from studio.engine.threaded import ThreadedEngine, one_line, template_ids

log = logging.getLogger(__name__)


class CudaEngine(ThreadedEngine):
    """The :class:`~studio.engine.base.Engine` for PyTorch + transformers.

    Args:
        device: "auto" (CUDA when PyTorch sees a GPU, else CPU), "cpu", "cuda", "cuda:N" or "mps".
        quantization: "auto", "nf4", "bf16", "fp16" or "fp32" (see the module docstring).
        prefill_step_size: prompt tokens per prefill forward; cancel is checked between them.
        prompt_cache: reuse the KV cache across turns (False: every answer prefills its prompt).
        hf_cache_dir: the Hugging Face hub cache repo ids are looked up in (default: the user's).
        prompt_lookup: draft tokens by n-gram match in the prompt and answer and verify them in one
            forward (:mod:`studio.engine.lookup`); the greedy output is the same as without it.
            None (default): on a GPU, where decoding is bound by memory bandwidth and checking ten
            tokens costs about as much as one; off on the CPU, where bench/edit_turns.py measured
            no gain (llama.cpp there).
        prompt_state_dir: where the system prompt's KV state is saved per model and prompt, so a
            new conversation prefills only the user's message (None: not saved).
        draft_model: a small model folder (or repo id) with the same tokenizer that drafts for the
            loaded one (:mod:`studio.engine.cuda_draft`; it replaces prompt lookup).
        num_draft_tokens: draft tokens per step with ``draft_model``.

    Raises:
        EngineError: PyTorch or transformers is not installed, or an option is unknown.
    """

    name = "cuda"

    def __init__(
        self,
        device: str = "auto",
        quantization: str = "auto",
        *,
        prefill_step_size: int = 512,
        prompt_cache: bool = True,
        hf_cache_dir: str | Path | None = None,
        prompt_lookup: bool | None = None,
        prompt_state_dir: str | Path | None = None,
        draft_model: str | None = None,
        num_draft_tokens: int = DEFAULT_DRAFT_TOKENS,
    ) -> None:
        self.device_option, self.quantization = check_options(device or "auto", quantization or "auto")
        self.prefill_step_size = max(1, prefill_step_size)
        self.use_prompt_cache = prompt_cache
        self._hf_cache_dir = hf_cache_dir
        self.prompt_lookup = prompt_lookup
        self.draft_model, self.num_draft_tokens = draft_model, num_draft_tokens
        self.draft_stats = DraftStats()  # of the last answer
        super().__init__("studio-cuda")
        if prompt_state_dir is not None:
            from importlib.metadata import version

            libs = f"transformers {version('transformers')}, torch {version('torch')}"
            self._states = PromptStateStore(prompt_state_dir, self.name, libs)
        # Touched only on the worker thread:
        self._torch: Any = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._folder: ModelFolder | None = None
        self._device = "cpu"
        self._eos: set[int] = set()
        self._forward_kw: dict[str, Any] = {}
        self._cache_kw = "cache"
        self._cache = KVPromptCache()
        self._draft: Any = None

    # ------------------------------------------------------------------ protocol

    def load(self, model: str) -> ModelInfo:
        """Load a model folder or a repo id from the local Hugging Face cache.

        Raises:
            ModelLoadError: what is missing or broken, or the device problem, in one sentence.
        """
        return self._load_with(self._load_on_worker, model)

    # ------------------------------------------------------------------ extras

    @property
    def device(self) -> str:
        """The device the model runs on once loaded ("cpu", "cuda:0", ...)."""
        return self._device

    def cached_tokens(self) -> list[int]:
        """The token ids the prompt cache holds (after the answer in progress, if any)."""
        return self._worker.call(lambda: self._cache.tokens)

    # ------------------------------------------------------------------ worker side

    def _drop_model(self) -> None:
        self._model = self._tokenizer = self._folder = self._draft = None
        self._cache.reset()
        gc.collect()
        torch = self._torch
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _load_on_worker(self, name: str) -> ModelInfo:
        folder = check_model_folder(  # the folder's problems first: they are about the user's input
            resolve_model(name, cache_dir=self._hf_cache_dir), supported=transformers_supports
        )
        torch = self._torch = import_torch()
        device = resolve_device(torch, self.device_option)
        plan = plan_load(torch, device, self.quantization, folder)
        self._drop_model()
        try:
            model = load_model(torch, folder, device, plan)
        except Exception as exc:
            self._drop_model()
            if is_oom(torch, exc):
                raise ModelLoadError(oom_message(torch, device, f"loading {folder.path.name}")) from None
            raise ModelLoadError(f"cannot load the weights in {folder.path}: {one_line(exc)}") from None
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(folder.path), local_files_only=True)
        except Exception as exc:
            raise ModelLoadError(f"cannot load the tokenizer in {folder.path}: {one_line(exc)}") from None
        if not folder.has_chat_template:
            log.warning("%s has no chat template; using plain ChatML", folder.path)
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        keep = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        self._forward_kw = {keep: 1} if keep else {}
        self._model, self._tokenizer, self._folder, self._device = model, tokenizer, folder, device
        self._draft = self._load_draft(torch, folder, device, plan) if self.draft_model else None
        if self._states is not None:
            self._states.forget()
            self._states.version = (
                self._states.version.split(";")[0] + f"; {device}, {plan.quantization}, {plan.dtype}"
            )
        self._eos = eos_ids(model, tokenizer)
        log.info("loaded %s on %s (%s, %s)", folder.path, device, plan.quantization, plan.dtype)
        return ModelInfo(
            name=name.rstrip("/").split("/")[-1] if Path(name).exists() else name,
            path=str(folder.path),
            engine=self.name,
            context_length=folder.context_length,
            quantization=plan.quantization,
            extra={
                "model_type": folder.model_type,
                "weight_bytes": folder.weight_bytes,
                "memory_bytes": int(model.get_memory_footprint()),
                "device": device,
                "dtype": plan.dtype,
                "chat_template": "model" if folder.has_chat_template else "chatml-fallback",
            },
        )

    def _encode(self, messages: list[ChatMessage]) -> list[int]:
        assert self._folder is not None
        return template_ids(self._tokenizer, messages, has_template=self._folder.has_chat_template)

    def _decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False))

    def _loaded(self) -> bool:
        return self._model is not None

    def _check_prompt(self, prompt: list[int]) -> Chunk | None:
        ctx = self._folder.context_length if self._folder else None
        if ctx is None or len(prompt) < ctx:
            return None
        msg = f"the prompt is {len(prompt)} tokens; the context holds {ctx}"
        return Chunk(prompt_tokens=len(prompt), finish_reason="error", error=msg)

    def _after_failure(self) -> None:
        self._cache.reset()
        torch = self._torch
        if torch is not None and self._device.startswith("cuda"):
            torch.cuda.empty_cache()

    def _new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self._model.config)

    def _forward(self, ids: list[int], cache: Any, rows: int = 1) -> Any:
        """Run ``ids`` through the model on top of ``cache``; the logits of the last ``rows`` positions."""
        x = self._torch.tensor([ids], device=self._device)
        keep = {k: rows for k in self._forward_kw}
        out = self._model(input_ids=x, use_cache=True, **{self._cache_kw: cache}, **keep)
        return out.logits[0, -1] if rows == 1 else out.logits[0, -rows:]

    def _load_draft(self, torch: Any, target: ModelFolder, device: str, plan: Any) -> Any:
        """The draft model (loaded as the target is), or None (logged) when it cannot draft."""
        assert self.draft_model is not None
        try:
            folder = check_model_folder(
                resolve_model(self.draft_model, cache_dir=self._hf_cache_dir), supported=transformers_supports
            )
            if not same_vocabulary(folder.path, target.path):
                raise ValueError(f"{folder.path} has another vocabulary than the model")
            draft = load_model(torch, folder, device, plan)
        except Exception as exc:
            log.warning("no draft model: %s", one_line(exc))
            return None
        log.info("draft model %s", folder.path)
        return draft

    def _drafter(self, prompt: list[int]) -> Any:
        """The answer's drafter: the draft model, prompt lookup, or None."""
        if self._draft is not None:
            from transformers import DynamicCache

            draft = self._draft

            def forward(ids: list[int], cache: Any) -> Any:
                x = self._torch.tensor([ids], device=self._device)
                out = draft(input_ids=x, use_cache=True, **{self._cache_kw: cache}, **self._forward_kw)
                return out.logits[0, -1]

            def new_cache() -> Any:
                return DynamicCache(config=draft.config)

            return ModelDrafter(forward, new_cache, prompt, num_draft=self.num_draft_tokens)
        lookup = self.prompt_lookup if self.prompt_lookup is not None else self._device != "cpu"
        return NgramDrafter(prompt) if lookup else None

    def _with_state(self, cache: Any, keep: int, token: CancelToken) -> tuple[Any, int, int]:
        """The system prompt's saved state when the cache lacks it; else prefill and save it.

        Returns:
            The cache, the ids it holds now, the ids of those not computed in this answer.
        """
        prefix = self._prefix
        if self._states is None or self._folder is None or keep >= len(prefix):
            return cache, keep, keep
        template = getattr(self._tokenizer, "chat_template", None) or "chatml"
        path = self._states.path(self._folder.path, str(template), prefix, ".pt")
        loaded = self._states.load(path, lambda p: load_torch(self._new_cache, self._device, prefix, p))
        if loaded is not None:
            return loaded, len(prefix), len(prefix)
        for i in range(keep, len(prefix), self.prefill_step_size):
            if token.cancelled:
                return cache, i, keep
            self._forward(prefix[i : i + self.prefill_step_size], cache)
        self._states.save(path, lambda p: save_torch(cache, prefix, p))
        return cache, len(prefix), keep

    def _peak_gb(self) -> float | None:
        if not self._device.startswith("cuda"):
            return None
        return float(self._torch.cuda.max_memory_allocated(self._device)) / 1e9

    def _run(
        self,
        prompt: list[int],
        params: GenerationParams,
        token: CancelToken,
        out: queue.SimpleQueue[Chunk],
        t0: float,
    ) -> None:
        torch = self._torch
        try:
            with torch.inference_mode():
                self._answer(prompt, params, token, out, t0)
        except Exception as exc:
            if is_oom(torch, exc):
                self._after_failure()
                raise EngineError(oom_message(torch, self._device, "while answering")) from None
            raise

    def _answer(
        self,
        prompt: list[int],
        params: GenerationParams,
        token: CancelToken,
        out: queue.SimpleQueue[Chunk],
        t0: float,
    ) -> None:
        torch, cuda = self._torch, self._device.startswith("cuda")
        if self.use_prompt_cache:
            cache, keep = self._cache.take(self._new_cache, prompt)
        else:
            self._cache.reset()
            cache, keep = self._new_cache(), 0
        if cuda:
            torch.cuda.reset_peak_memory_stats(self._device)
        started = time.perf_counter()
        cache, keep, kept = self._with_state(cache, keep, token)
        suffix = prompt[keep:]
        base: dict[str, Any] = {"prompt_tokens": len(prompt), "prefilled_tokens": len(prompt) - kept}
        logits = None
        for i in range(0, len(suffix), self.prefill_step_size):
            if token.cancelled:
                self._settle(cache, prompt)
                out.put(Chunk(finish_reason="cancelled", peak_memory_gb=self._peak_gb(), **base))
                return
            logits = self._forward(suffix[i : i + self.prefill_step_size], cache)
        if cuda:
            torch.cuda.synchronize(self._device)
        prefill_end = time.perf_counter()
        prompt_tps = len(suffix) / max(prefill_end - started, 1e-9)

        generator = make_generator(torch, self._device, params.seed)
        detok = Detokenizer(self._decode)
        ctx = self._folder.context_length if self._folder else None
        drafter = self._drafter(prompt)
        stats = self.draft_stats = DraftStats()
        generated: list[int] = []
        ttft: float | None = None
        tps = 0.0
        finish: FinishReason | None = None
        rows, draft = [logits], list[int]()  # rows[i]: the logits after draft[:i]
        while True:
            confirmed = 0
            for i, row in enumerate(rows):
                recent = (prompt[-PENALTY_CONTEXT:] + generated)[-PENALTY_CONTEXT:]
                tok = sample(torch, row, params, recent, generator)
                generated.append(tok)
                if drafter is not None:
                    drafter.extend((tok,))
                now = time.perf_counter()
                n = len(generated)
                ttft = ttft if ttft is not None else now - t0
                tps = n / max(now - prefill_end, 1e-9)
                if tok in self._eos:
                    finish, text = "stop", detok.flush()
                else:
                    text = detok.add(tok)
                    if n >= params.max_tokens or (ctx is not None and len(prompt) + n >= ctx):
                        finish, text = "length", text + detok.flush()
                out.put(
                    Chunk(
                        text=text,
                        generated_tokens=n,
                        ttft=ttft,
                        tps=tps,
                        prompt_tps=prompt_tps,
                        peak_memory_gb=self._peak_gb(),
                        finish_reason=finish,
                        **base,
                    )
                )
                if finish is None and token.cancelled:
                    finish = "cancelled"
                if finish is not None or i >= len(draft) or tok != draft[i]:
                    break
                confirmed += 1
            stats.add(len(draft), confirmed)
            if finish is not None:
                break
            if confirmed < len(draft):  # the cache holds the rejected draft ids: drop them
                cache.crop(-(len(draft) - confirmed))
            draft = drafter.draft(params.max_tokens - len(generated)) if drafter is not None else []
            rows = self._forward([tok, *draft], cache, rows=len(draft) + 1)
            rows = [rows] if not draft else list(rows)
        self._settle(cache, prompt + generated)  # the cache holds all but the last sampled id
        if finish == "cancelled":
            out.put(
                Chunk(
                    text=detok.flush(),
                    generated_tokens=len(generated),
                    ttft=ttft,
                    tps=tps,
                    prompt_tps=prompt_tps,
                    peak_memory_gb=self._peak_gb(),
                    finish_reason="cancelled",
                    **base,
                )
            )

    def _settle(self, cache: Any, seen: list[int]) -> None:
        if not self.use_prompt_cache:
            return
        extra = cache.get_seq_length() - max(len(seen) - 1, 0)
        if extra > 0 and len(seen) > 1:  # draft ids verified after the last token: not ours
            cache.crop(-extra)
        self._cache.settle(cache, seen)


__all__ = ["CudaEngine", "EngineError", "ModelLoadError"]
