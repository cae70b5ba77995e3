"""A scripted engine for UI tests and screenshots ONLY (never shipped, never used in engine tests).

It speaks the real :class:`studio.engine.base.Engine` protocol: each ``stream_chat`` call replays
the next scripted answer chunk by chunk with a small delay, honours the CancelToken between
chunks, and reports cumulative token counts, time to first token and tok/s like a real engine.
A script entry that is an exception is raised from the stream (an engine that breaks).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from studio.engine.base import CancelToken, ChatMessage, Chunk, GenerationParams, ModelInfo, ModelLoadError

CORPUS = Path(
    os.environ.get("STUDIO_CORPUS_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "corpus")
)


def corpus_answer(prefix: str) -> str:
    """The text of the corpus case whose name starts with ``prefix`` (e.g. "01")."""
    matches = sorted(CORPUS.glob(f"{prefix}-*.md"))
    if not matches:
        raise FileNotFoundError(f"no corpus case {prefix} in {CORPUS}")
    return matches[0].read_text(encoding="utf-8")


class ScriptedEngine:
    """Replays given answers as a stream.

    Args:
        answers: one entry per ``stream_chat`` call (the last one repeats): a text to stream, or an
            exception instance to raise from the stream after the first chunk.
        chunk_chars: characters per chunk (one "token").
        delay: seconds between chunks.
        load_delay: seconds ``load`` takes.
        first_delay: seconds before the first chunk (prefill).
        load_gate: when given, ``load`` waits until it is set (a test decides when a load ends).

    Attributes:
        produced: chunks with text streamed so far, over every answer.
        produced_at_cancel: ``produced`` when ``cancel`` was last called (None before): a stream that
            stops "within a token" ends with at most one more.
    """

    name = "scripted"

    def __init__(
        self,
        answers: Sequence[str | BaseException] = ("Hello.",),
        *,
        chunk_chars: int = 16,
        delay: float = 0.002,
        load_delay: float = 0.0,
        first_delay: float = 0.0,
        load_gate: threading.Event | None = None,
    ) -> None:
        self.answers = list(answers)
        self.chunk_chars = chunk_chars
        self.delay = delay
        self.load_delay = load_delay
        self.first_delay = first_delay
        self.load_gate = load_gate
        self.produced = 0
        self.produced_at_cancel: int | None = None
        self.requests: list[list[ChatMessage]] = []
        self.threads: set[int] = set()  # thread idents that ran load/stream
        self.closed = False
        self._model: ModelInfo | None = None
        self._calls = 0
        self._cancel = threading.Event()

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    def load(self, model: str) -> ModelInfo:
        self.threads.add(threading.get_ident())
        time.sleep(self.load_delay)
        if self.load_gate is not None and not self.load_gate.wait(60):
            raise ModelLoadError("the test never opened the load gate")
        if model.startswith("missing"):
            raise ModelLoadError(f"no model folder at {model}")
        self._model = ModelInfo(name=Path(model).name or model, path=model, engine=self.name)
        return self._model

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[Chunk]:
        self.requests.append(list(messages))
        answer = self.answers[min(self._calls, len(self.answers) - 1)]
        self._calls += 1
        self._cancel.clear()
        return self._stream(answer, params or GenerationParams(), cancel)

    def _stream(self, answer: str | BaseException, params: GenerationParams, cancel: CancelToken | None):
        self.threads.add(threading.get_ident())
        t0 = time.perf_counter()
        prompt_tokens = sum(len(m["content"]) for m in self.requests[-1]) // 4
        time.sleep(self.first_delay)
        text = answer if isinstance(answer, str) else "Thinking"
        ttft: float | None = None
        n = 0
        pos = 0
        while pos < len(text):
            if (cancel is not None and cancel.cancelled) or self._cancel.is_set():
                yield self._chunk("", prompt_tokens, n, ttft, t0, "cancelled")
                return
            piece = text[pos : pos + self.chunk_chars]
            pos += len(piece)
            n += 1
            self.produced += 1
            if ttft is None:
                ttft = time.perf_counter() - t0
            if n >= params.max_tokens:
                yield self._chunk(piece, prompt_tokens, n, ttft, t0, "length")
                return
            yield self._chunk(piece, prompt_tokens, n, ttft, t0, None)
            if isinstance(answer, BaseException):
                raise answer
            time.sleep(self.delay)
        yield self._chunk("", prompt_tokens, n, ttft, t0, "stop")

    @staticmethod
    def _chunk(text: str, prompt: int, n: int, ttft: float | None, t0: float, finish: str | None) -> Chunk:
        elapsed = time.perf_counter() - t0 - (ttft or 0.0)
        tps = (n - 1) / elapsed if n > 1 and elapsed > 0 else 0.0
        return Chunk(
            text=text,
            prompt_tokens=prompt,
            prefilled_tokens=prompt,
            generated_tokens=n,
            ttft=ttft,
            tps=tps,
            finish_reason=finish,  # type: ignore[arg-type]
        )

    def cancel(self) -> None:
        self.produced_at_cancel = self.produced
        self._cancel.set()

    def close(self) -> None:
        self.closed = True
        self._model = None
