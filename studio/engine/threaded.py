"""The machinery shared by engines whose library works on one thread (MLX, llama.cpp).

A :class:`ThreadedEngine` loads and generates on one long-lived
:class:`~studio.engine.worker.SerialWorker`. ``stream_chat`` may be called from any thread: its
generator receives :class:`Chunk` records from the worker through a queue, and closing it early
cancels the answer. Subclasses supply the library-specific steps: load, encode, run.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future
from typing import Any, Self

from studio.engine.base import (
    CancelToken,
    ChatMessage,
    Chunk,
    EngineError,
    GenerationParams,
    ModelInfo,
    ModelLoadError,
)
from studio.engine.prompt_state import PromptStateStore
from studio.engine.worker import SerialWorker, WorkerClosed

log = logging.getLogger(__name__)

# Used only when a model carries no chat template of its own.
CHATML_DEFAULT_SYSTEM = "You are a helpful assistant."


def one_line(exc: BaseException | str) -> str:
    """The first line of an error (an exception or its message), at most 300 characters."""
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    return msg if len(msg) <= 300 else msg[:297] + "..."


def chatml(messages: Sequence[ChatMessage]) -> str:
    """Render ``messages`` as plain ChatML with the assistant turn opened."""
    parts = []
    if not messages or messages[0]["role"] != "system":
        parts.append(f"<|im_start|>system\n{CHATML_DEFAULT_SYSTEM}<|im_end|>\n")
    parts += [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def template_ids(tokenizer: Any, messages: Sequence[ChatMessage], *, has_template: bool) -> list[int]:
    """Prompt token ids from a Hugging Face tokenizer: its chat template, else plain ChatML."""
    if has_template:
        text = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    else:
        text = chatml(messages)
    return list(tokenizer.encode(text, add_special_tokens=False))


# Engines still open at interpreter exit are cancelled and closed first: library work (MLX, torch) torn
# down mid-token by the exit can abort the process ("terminate called without an active exception").
_open_engines: weakref.WeakSet[ThreadedEngine] = weakref.WeakSet()


@atexit.register
def _close_open_engines() -> None:
    for engine in list(_open_engines):
        engine.close()


class ThreadedEngine:
    """An engine whose load and generation run on its own worker thread.

    Subclasses set ``name`` and implement ``_loaded``, ``_encode`` and ``_run`` (all on the
    worker); they may override ``_check_prompt``, ``_after_failure`` and ``_drop_model``.
    """

    name = "threaded"

    def __init__(self, worker_name: str) -> None:
        self._worker = SerialWorker(worker_name)
        self._lock = threading.Lock()
        self._pending: set[CancelToken] = set()
        self._info: ModelInfo | None = None
        # Set by engines that save the system prompt's state; _prefix is the current prompt's part.
        self._states: PromptStateStore | None = None
        self._prefix: list[int] = []
        _open_engines.add(self)

    # ------------------------------------------------------------------ protocol

    @property
    def model(self) -> ModelInfo | None:
        return self._info

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams | None = None,
        cancel: CancelToken | None = None,
    ) -> Generator[Chunk]:
        """Stream one answer; the work starts when the generator is first advanced.

        Closing the generator before its last chunk cancels the answer.
        """
        return self._stream(list(messages), params or GenerationParams(), cancel or CancelToken())

    def cancel(self) -> None:
        """Cancel the answer in progress and any answer waiting for the worker."""
        with self._lock:
            tokens = list(self._pending)
        for token in tokens:
            token.cancel()

    # ------------------------------------------------------------------ extras

    def encode_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt token ids for ``messages`` (chat template applied, generation prompt added).

        Raises:
            EngineError: no model is loaded.
        """
        if self._info is None:
            raise EngineError("no model is loaded")
        return self._worker.call(self._encode, list(messages))

    def close(self) -> None:
        """Cancel what runs, drop the model on the worker and hand the worker thread back."""
        self.cancel()
        try:
            self._worker.submit(self._drop_model).result(timeout=10)
        except WorkerClosed:
            pass
        except TimeoutError:
            log.warning("the %s worker did not finish its answer within 10 s of close()", self.name)
        self._worker.close()
        self._info = None
        _open_engines.discard(self)

    def _load_with(self, load_on_worker: Callable[..., ModelInfo], *args: object) -> ModelInfo:
        """Cancel any answer of the old model, then run ``load_on_worker(*args)`` on the worker.

        Raises:
            ModelLoadError: from the load, or when the engine is closed (no model is loaded after it).
        """
        self.cancel()  # an answer from the old model is not worth waiting for
        try:
            info = self._worker.call(load_on_worker, *args)
        except WorkerClosed:
            raise ModelLoadError(f"the {self.name} engine is closed") from None
        except ModelLoadError:
            self._info = None  # the old model was released before loading the new one
            raise
        self._info = info
        return info

    def _drop_model(self) -> None:
        """Release the model (on the worker); engines that hold one override it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ caller side

    def _stream(
        self, messages: list[ChatMessage], params: GenerationParams, token: CancelToken
    ) -> Generator[Chunk]:
        out: queue.SimpleQueue[Chunk] = queue.SimpleQueue()
        finished = False
        t0 = time.perf_counter()
        with self._lock:
            self._pending.add(token)
        try:
            try:
                fut = self._worker.submit(self._generate, messages, params, token, out, t0)
            except WorkerClosed:
                yield Chunk(finish_reason="error", error=f"the {self.name} engine is closed")
                return
            fut.add_done_callback(lambda f: self._final_if_lost(f, out))
            while True:
                chunk = out.get()
                finished = chunk.finish_reason is not None
                yield chunk
                if finished:
                    return
        finally:
            if not finished:  # the consumer closed the generator early: stop the worker
                token.cancel()
            with self._lock:
                self._pending.discard(token)

    def _final_if_lost(self, fut: Future[None], out: queue.SimpleQueue[Chunk]) -> None:
        # A job dropped by close() never ran: end its stream so the consumer is not left waiting.
        if fut.cancelled():
            out.put(Chunk(finish_reason="error", error=f"the {self.name} engine was closed"))
        elif (exc := fut.exception()) is not None:
            out.put(Chunk(finish_reason="error", error=one_line(exc)))

    # ------------------------------------------------------------------ worker side

    def _generate(
        self,
        messages: list[ChatMessage],
        params: GenerationParams,
        token: CancelToken,
        out: queue.SimpleQueue[Chunk],
        t0: float,
    ) -> None:
        if not self._loaded():
            out.put(Chunk(finish_reason="error", error="no model is loaded"))
            return
        if token.cancelled:
            out.put(Chunk(finish_reason="cancelled"))
            return
        try:
            prompt = self._encode(messages)
        except Exception as exc:
            out.put(Chunk(finish_reason="error", error=f"the chat template failed: {one_line(exc)}"))
            return
        if not prompt:
            out.put(Chunk(finish_reason="error", error="the prompt is empty"))
            return
        problem = self._check_prompt(prompt)
        if problem is not None:
            out.put(problem)
            return
        self._prefix = []
        if self._states is not None:
            try:
                self._prefix = self._states.prefix(self._encode, messages, prompt)
            except Exception as exc:  # a template that cannot render the probes: no saved state
                log.debug("no system prompt prefix: %s", one_line(exc))
        try:
            self._run(prompt, params, token, out, t0)
        except Exception as exc:  # a bug of ours or a library failure: end the stream in one line
            log.exception("generation failed")
            self._after_failure()
            out.put(Chunk(finish_reason="error", error=one_line(exc)))

    def _loaded(self) -> bool:
        raise NotImplementedError

    def _encode(self, messages: list[ChatMessage]) -> list[int]:
        raise NotImplementedError

    def _check_prompt(self, prompt: list[int]) -> Chunk | None:
        """An error chunk when the prompt cannot be answered (e.g. longer than the context)."""
        return None

    def _run(
        self,
        prompt: list[int],
        params: GenerationParams,
        token: CancelToken,
        out: queue.SimpleQueue[Chunk],
        t0: float,
    ) -> None:
        raise NotImplementedError

    def _after_failure(self) -> None:
        """Bring the model's cache back to a consistent state after a failed answer."""


__all__ = ["CHATML_DEFAULT_SYSTEM", "ThreadedEngine", "chatml", "one_line"]
