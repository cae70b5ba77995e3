"""The payloads of a streamed chat completion: OpenAI ``chat.completion.chunk`` JSON to Chunk records.

The event stream itself is parsed by httpx2 (``httpx2.EventSource``); :class:`ChatStream` reads the
``data:`` payload of each event and keeps the counters of the answer.
"""

from __future__ import annotations

import json
import time

from studio.engine.base import Chunk, FinishReason


def finish_reason(reason: object) -> FinishReason:
    """An OpenAI ``finish_reason`` as ours: "length" for a cut answer, else "stop"."""
    return "length" if reason in ("length", "max_tokens") else "stop"


class ChatStream:
    """The counters of one streamed chat completion, and the Chunk records made from them.

    Feed it each ``data:`` payload (:meth:`event`); it keeps the token counts (from ``usage`` when
    the server sends it, else one per text delta), the time to the first token and the finish reason.

    Args:
        t0: ``time.perf_counter()`` when the request was sent.
    """

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.t_first: float | None = None
        self.t_last = t0
        self.deltas = 0
        self.prompt = 0
        self.cached = 0
        self.completion: int | None = None
        self.finish: FinishReason | None = None
        self.finished = False

    @property
    def generated(self) -> int:
        return self.completion if self.completion is not None else self.deltas

    def _chunk(self, text: str = "", finish: FinishReason | None = None, error: str | None = None) -> Chunk:
        ttft = None if self.t_first is None else self.t_first - self.t0
        n = self.generated
        span = self.t_last - self.t_first if self.t_first is not None else 0.0
        tps = (n - 1) / span if n > 1 and span > 0 else 0.0
        prefilled = max(self.prompt - self.cached, 0)
        prompt_tps = prefilled / ttft if prefilled and ttft else 0.0
        return Chunk(
            text=text,
            prompt_tokens=self.prompt,
            prefilled_tokens=prefilled,
            generated_tokens=n,
            ttft=ttft,
            tps=tps,
            prompt_tps=prompt_tps,
            finish_reason=finish,
            error=error,
        )

    def text(self, text: str) -> Chunk:
        now = time.perf_counter()
        if self.t_first is None:
            self.t_first = now
        self.t_last = now
        self.deltas += 1
        return self._chunk(text)

    def end(self, finish: FinishReason, error: str | None = None) -> Chunk:
        self.finished = True
        return self._chunk(finish=finish, error=error)

    def usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        if isinstance(usage.get("prompt_tokens"), int):
            self.prompt = usage["prompt_tokens"]
        if isinstance(usage.get("completion_tokens"), int):
            self.completion = usage["completion_tokens"]
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            self.cached = details["cached_tokens"]

    def event(self, data: str) -> Chunk | None:
        """The Chunk one ``data:`` payload makes: text, an error end, or None (nothing to show)."""
        try:
            obj = json.loads(data)
        except ValueError:
            return self.end("error", f"the server sent malformed JSON in the stream: {data[:60]!r}")
        if not isinstance(obj, dict):
            return self.end("error", f"the server sent malformed data in the stream: {data[:60]!r}")
        if obj.get("error"):
            err = obj["error"]
            msg = str(err.get("message", err) if isinstance(err, dict) else err).strip()
            first = msg.splitlines()[0][:200] if msg else "no message"
            return self.end("error", f"the server failed mid-answer: {first}")
        self.usage(obj.get("usage"))
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None
        choice = choices[0]
        reason = choice.get("finish_reason")
        if reason:
            if reason == "content_filter":
                return self.end("error", "the server's content filter stopped the answer")
            self.finish = finish_reason(reason)
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str) and content:
            return self.text(content)
        return None


__all__ = ["ChatStream", "finish_reason"]
