"""The one protocol every engine speaks.

An engine loads a model and streams a chat completion as a generator of small frozen
:class:`Chunk` records. A blocking answer is a join over the stream (:func:`collect`).
Cancel is a flag set from any thread and checked between tokens; the stream then ends
with one last chunk whose ``finish_reason`` is ``"cancelled"``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol, runtime_checkable

from studio.core.conversation import ChatMessage

FinishReason = Literal["stop", "length", "cancelled", "error"]


class EngineError(Exception):
    """A problem an engine reports to the user in one clear sentence (never a traceback)."""


class ModelLoadError(EngineError):
    """The model could not be loaded: missing folder, missing files, broken config, ..."""


# How many recent tokens the repetition penalty looks at (mlx-lm's default; the CUDA engine matches it).
PENALTY_CONTEXT = 20


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling parameters shared by every engine.

    Args:
        temperature: 0 means greedy decoding.
        top_p: nucleus sampling mass; 1.0 disables it.
        max_tokens: the most tokens generated for one answer.
        seed: makes sampling reproducible when set.
        repetition_penalty: 1.0 (or None) disables it.
    """

    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int = 4096
    seed: int | None = None
    repetition_penalty: float | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        if self.repetition_penalty is not None and self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be > 0")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One step of a streamed answer.

    Counters are cumulative for the answer so far; ``text`` is only the new text.
    The last chunk of every stream has ``finish_reason`` set.

    Attributes:
        text: the text delta since the previous chunk (may be empty).
        prompt_tokens: tokens in the whole prompt (chat template applied).
        prefilled_tokens: prompt tokens actually computed; the rest came from the prompt cache.
        generated_tokens: tokens generated so far.
        ttft: seconds from the request to the first generated token (None before it).
        tps: generation tokens per second so far.
        prompt_tps: prefill tokens per second.
        peak_memory_gb: peak memory in GB where the engine knows it.
        finish_reason: None until the last chunk.
        error: a one-line message when finish_reason is "error".
    """

    text: str = ""
    prompt_tokens: int = 0
    prefilled_tokens: int = 0
    generated_tokens: int = 0
    ttft: float | None = None
    tps: float = 0.0
    prompt_tps: float = 0.0
    peak_memory_gb: float | None = None
    finish_reason: FinishReason | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a loaded model is."""

    name: str
    path: str
    engine: str
    context_length: int | None = None
    quantization: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


class CancelToken:
    """A thread-safe cancel flag, checked by engines between tokens."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@runtime_checkable
class Engine(Protocol):
    """A model backend.

    ``stream_chat`` may be called from any thread and its generator iterated there; an
    engine whose library is thread-bound (MLX) does its work on its own thread.
    ``cancel`` may be called from any thread at any time.
    """

    name: str

    @property
    def model(self) -> ModelInfo | None: ...

    def load(self, model: str) -> ModelInfo:
        """Load a model from a local folder (or a repo id the engine knows); raises ModelLoadError."""
        ...

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[Chunk]:
        """Stream one answer; the last chunk carries finish_reason (errors come as "error" chunks)."""
        ...

    def cancel(self) -> None:
        """Cancel the generation in progress, if any."""
        ...

    def close(self) -> None:
        """Release the model and any worker thread."""
        ...


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer: the join of a stream."""

    text: str
    last: Chunk

    @property
    def finish_reason(self) -> FinishReason | None:
        return self.last.finish_reason


def collect(stream: Iterable[Chunk]) -> Completion:
    """Join a stream into one :class:`Completion` (the blocking form of every engine)."""
    parts: list[str] = []
    last = Chunk(finish_reason="error", error="the engine produced no output")
    for chunk in stream:
        parts.append(chunk.text)
        last = chunk
    return Completion("".join(parts), last)
