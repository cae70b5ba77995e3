"""The llama.cpp engine: GGUF models through llama-cpp-python, token by token, with prompt reuse.

On a machine with neither Apple Silicon nor an NVIDIA GPU this is the fast engine (about ten
times MLX's CPU build, see bench/engines.py). It is an optional extra because llama-cpp-python
compiles llama.cpp at install time: ``pip install 'artifacts-studio[llamacpp]'``.

Generation is driven at the token level (``Llama.eval`` for the prompt, ``Llama.generate`` for
sampling, an incremental UTF-8 decoder for text), not through ``create_chat_completion``: cancel
is checked between prefill steps and between tokens, and the figures are our own. llama.cpp keeps
the evaluated tokens in its KV cache: a new prompt keeps the longest common prefix with them and
only the rest is prefilled (reported as ``Chunk.prefilled_tokens``).

All llama.cpp calls run on one :class:`~studio.engine.worker.SerialWorker` thread; ``stream_chat``
may be called from any thread.
"""

from __future__ import annotations

import codecs
import logging
import queue
import time
from pathlib import Path
from typing import Any

from studio.engine.base import (
    CancelToken,
    ChatMessage,
    Chunk,
    FinishReason,
    GenerationParams,
    ModelInfo,
    ModelLoadError,
)
from studio.engine.llamacpp_files import (
    context_length,
    file_type_name,
    import_llama_cpp,
    resolve_gguf,
    route_llama_logs,
    usable_cores,
)
from studio.engine.llamacpp_lookup import lookup_generate
from studio.engine.lookup import DraftStats, NgramDrafter
from studio.engine.prompt_cache import common_prefix
from studio.engine.prompt_state import PromptStateStore, load_llama, save_llama
from studio.engine.threaded import ThreadedEngine, chatml, one_line

log = logging.getLogger(__name__)

DEFAULT_N_CTX = 16384


class LlamaCppEngine(ThreadedEngine):
    """The :class:`~studio.engine.base.Engine` for llama.cpp (GGUF files).

    Args:
        n_ctx: context size in tokens (default: the model's, at most 16384).
        n_threads: CPU threads (default: every usable core).
        n_gpu_layers: layers offloaded to a GPU build (-1: all; 0 on a CPU build).
        prefill_step_size: prompt tokens per prefill step; cancel is checked between steps.
        prompt_cache: keep the evaluated prefix across turns (False: every answer prefills it all).
        prompt_lookup: draft tokens by n-gram match in the prompt and answer and verify them in one
            llama.cpp batch (:mod:`studio.engine.llamacpp_lookup`). Off by default: bench/edit_turns.py
            measured no gain on a CPU (median 0.74x decode tok/s, SmolLM2-135M Q4_1, 2 cores), and
            llama.cpp's batched kernels round differently from its one-token ones, so a quantized
            model's greedy answer can differ from the plain one where two tokens nearly tie.
        prompt_state_dir: where the system prompt's KV state is saved per model and prompt, so a
            new conversation prefills only the user's message (None: not saved).

    Raises:
        EngineError: llama-cpp-python is not installed (the message names the install command).
    """

    name = "llamacpp"

    def __init__(
        self,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        prefill_step_size: int = 256,
        prompt_cache: bool = True,
        prompt_lookup: bool = False,
        prompt_state_dir: str | Path | None = None,
    ) -> None:
        self._lib = import_llama_cpp()
        route_llama_logs(self._lib)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or usable_cores()
        if n_gpu_layers is None:
            n_gpu_layers = -1 if self._lib.llama_supports_gpu_offload() else 0
        self.n_gpu_layers = n_gpu_layers
        self.prefill_step_size = max(1, prefill_step_size)
        self.use_prompt_cache = prompt_cache
        self.prompt_lookup = prompt_lookup
        self.draft_stats = DraftStats()  # of the last answer
        super().__init__("studio-llamacpp")
        if prompt_state_dir is not None and hasattr(self._lib, "llama_state_seq_get_data"):
            version = str(getattr(self._lib, "__version__", "?"))
            self._states = PromptStateStore(prompt_state_dir, self.name, version)
        # Touched only on the worker thread:
        self._llm: Any = None
        self._vocab: Any = None
        self._formatter: Any = None
        self._add_bos: int | None = None
        self._path: Path | None = None
        self._template = ""

    # ------------------------------------------------------------------ protocol

    def load(self, model: str) -> ModelInfo:
        """Load a .gguf file (or a folder / cached repo holding one).

        Raises:
            ModelLoadError: what is missing or broken, in one sentence.
        """
        return self._load_with(self._load_on_worker, resolve_gguf(model))

    # ------------------------------------------------------------------ extras

    def cached_tokens(self) -> list[int]:
        """The token ids llama.cpp's KV cache holds (after the answer in progress, if any)."""
        return self._worker.call(lambda: [] if self._llm is None else self._held())

    # ------------------------------------------------------------------ worker side

    def _drop_model(self) -> None:
        if self._llm is not None:
            self._llm.close()
        self._llm = self._vocab = self._formatter = None

    def _held(self) -> list[int]:
        return [int(t) for t in self._llm.input_ids[: self._llm.n_tokens]]

    def _load_on_worker(self, path: Path) -> ModelInfo:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._drop_model()
        n_train = context_length(self._lib, path)
        n_ctx = self.n_ctx or min(n_train or DEFAULT_N_CTX, DEFAULT_N_CTX)
        try:
            llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=min(512, n_ctx),
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_gpu_layers=self.n_gpu_layers,
                verbose=False,
            )
        except Exception as exc:
            raise ModelLoadError(f"llama.cpp cannot load {path.name}: {one_line(exc)}") from None
        meta = dict(llm.metadata)
        template = meta.get("tokenizer.chat_template")
        eos, bos = llm.token_eos(), llm.token_bos()
        text_of = llm._model.token_get_text
        self._formatter = (
            Jinja2ChatFormatter(
                template=template,
                eos_token=text_of(eos) if eos != -1 else "",
                bos_token=text_of(bos) if bos != -1 else "",
                add_generation_prompt=True,
            )
            if template
            else None
        )
        if not template:
            log.warning("%s has no chat template; using plain ChatML", path)
        add_bos = meta.get("tokenizer.ggml.add_bos_token", "false") == "true" and bos != -1
        self._add_bos = bos if add_bos else None
        self._llm, self._vocab = llm, self._lib.llama_model_get_vocab(llm.model)
        self._path, self._template = path, template or "chatml"
        if self._states is not None:
            self._states.forget()
        arch = meta.get("general.architecture", "?")
        log.info("loaded %s (%s, n_ctx %d, %d threads)", path, arch, n_ctx, self.n_threads)
        return ModelInfo(
            name=path.stem,
            path=str(path),
            engine=self.name,
            context_length=n_train or None,
            quantization=file_type_name(meta.get("general.file_type")),
            extra={
                "model_type": arch,
                "n_ctx": llm.n_ctx(),
                "n_threads": self.n_threads,
                "n_gpu_layers": self.n_gpu_layers,
                "weight_bytes": int(llm._model.size()),
                "description": llm._model.desc(),
                "chat_template": "model" if template else "chatml-fallback",
            },
        )

    def _encode(self, messages: list[ChatMessage]) -> list[int]:
        fmt = self._formatter
        text = fmt(messages=messages).prompt if fmt is not None else chatml(messages)
        ids = list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        if self._add_bos is not None and (not ids or ids[0] != self._add_bos):
            ids.insert(0, self._add_bos)
        return ids

    def _loaded(self) -> bool:
        return self._llm is not None

    def _check_prompt(self, prompt: list[int]) -> Chunk | None:
        n_ctx = self._llm.n_ctx()
        if len(prompt) < n_ctx:
            return None
        msg = f"the prompt is {len(prompt)} tokens; the context holds {n_ctx}"
        return Chunk(prompt_tokens=len(prompt), finish_reason="error", error=msg)

    def _after_failure(self) -> None:
        self._llm.reset()

    def _run(
        self,
        prompt: list[int],
        params: GenerationParams,
        token: CancelToken,
        out: queue.SimpleQueue[Chunk],
        t0: float,
    ) -> None:
        llm = self._llm
        keep = 0
        if self.use_prompt_cache:
            keep = min(common_prefix(self._held(), prompt), len(prompt) - 1)
        llm.n_tokens = keep  # eval() drops every KV cell from here on
        started = time.perf_counter()
        prefix, state, save_at = self._prefix, None, 0
        if self._states is not None and self._path is not None and keep < len(prefix):
            state = self._states.path(self._path, self._template, prefix, ".kv")
            restored = self._states.load(state, lambda p: load_llama(llm, self._lib, prefix, p))
            keep = restored if restored is not None else min(keep, llm.n_tokens)
            llm.n_tokens = keep
            save_at = 0 if restored is not None else len(prefix)
        suffix = prompt[keep:]
        base: dict[str, Any] = {"prompt_tokens": len(prompt), "prefilled_tokens": len(suffix)}
        log.debug("llamacpp: reusing %d of %d prompt tokens", keep, len(prompt))

        pos = keep
        while pos < len(prompt):
            if token.cancelled:
                out.put(Chunk(finish_reason="cancelled", **base))
                return
            end = min(pos + self.prefill_step_size, len(prompt))
            end = save_at if pos < save_at < end else end
            llm.eval(prompt[pos:end])
            pos = end
            if pos == save_at and state is not None:
                self._states.save(state, lambda p: save_llama(llm, self._lib, prefix, p))  # type: ignore[union-attr]
        prefill_end = time.perf_counter()
        prompt_tps = len(suffix) / max(prefill_end - started, 1e-9)

        llm.set_seed(params.seed if params.seed is not None else self._lib.LLAMA_DEFAULT_SEED)
        sampling: dict[str, Any] = {
            "temp": params.temperature,
            "top_p": params.top_p,
            "top_k": 0,
            "min_p": 0.0,
            "typical_p": 1.0,
            "repeat_penalty": params.repetition_penalty or 1.0,
        }
        self.draft_stats = DraftStats()
        if self.prompt_lookup:
            tokens = lookup_generate(llm, NgramDrafter(prompt), self.draft_stats, **sampling)
        else:  # the whole prompt is evaluated: generate() finds it cached and samples at once
            tokens = llm.generate(prompt, **sampling)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        n_ctx = llm.n_ctx()
        n, ttft, tps = 0, None, 0.0
        finish: FinishReason | None = None
        try:
            for tok in tokens:
                now = time.perf_counter()
                n += 1
                ttft = ttft if ttft is not None else now - t0
                tps = n / max(now - prefill_end, 1e-9)
                if self._lib.llama_vocab_is_eog(self._vocab, tok):
                    finish, text = "stop", decoder.decode(b"", final=True)
                else:
                    text = decoder.decode(llm.detokenize([tok]))
                    if n >= params.max_tokens or len(prompt) + n >= n_ctx:
                        finish, text = "length", text + decoder.decode(b"", final=True)
                out.put(
                    Chunk(
                        text=text,
                        generated_tokens=n,
                        ttft=ttft,
                        tps=tps,
                        prompt_tps=prompt_tps,
                        finish_reason=finish,
                        **base,
                    )
                )
                if finish is not None:
                    break
                if token.cancelled:
                    finish = "cancelled"
                    break
        finally:
            tokens.close()
            if not self.use_prompt_cache:
                llm.reset()
        if finish == "cancelled":
            tail = decoder.decode(b"", final=True)
            out.put(
                Chunk(
                    text=tail,
                    generated_tokens=n,
                    ttft=ttft,
                    tps=tps,
                    prompt_tps=prompt_tps,
                    finish_reason="cancelled",
                    **base,
                )
            )
        elif finish is None:  # generate() ended on its own (should not happen)
            out.put(Chunk(finish_reason="error", error="the stream ended early", **base))


__all__ = ["LlamaCppEngine", "route_llama_logs", "usable_cores"]
