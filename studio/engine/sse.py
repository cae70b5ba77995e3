"""The wire format of a streamed chat completion: Server-Sent Events carrying OpenAI chunk JSON.

:class:`SSEParser` is an incremental ``text/event-stream`` parser; :class:`ChatStream` turns the
``data:`` payloads of an OpenAI-style ``chat.completion.chunk`` stream into Chunk records.

Feed it bytes as they arrive, in pieces of any size; it returns each event once its closing blank
line has been read. It follows the WHATWG rules: lines end in CRLF, LF or CR (a CR at the end of one
piece may be followed by the LF in the next), ``data:`` lines of one event are joined with "\\n",
one space after the colon is dropped, lines starting with ":" are comments (keep-alives), unknown
fields are ignored, and a UTF-8 character may be split across pieces.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from dataclasses import dataclass

from studio.engine.base import Chunk, FinishReason

# A line this long without an end is not an event stream (guards memory against a broken server).
MAX_LINE = 4 * 1024 * 1024
_EOL = re.compile(r"\r\n|\r|\n")


class SSEError(ValueError):
    """The bytes are not a well-formed event stream."""


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event.

    Attributes:
        data: the ``data:`` lines joined with "\\n".
        event: the ``event:`` field ("message" when absent).
        id: the ``id:`` field, if any.
    """

    data: str
    event: str = "message"
    id: str | None = None


class SSEParser:
    """Turns byte pieces into :class:`Event` records.

    Attributes:
        comments: how many comment lines (keep-alives) were seen.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._after_cr = False  # the last piece ended in CR: a leading LF belongs to it
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self.comments = 0

    def feed(self, piece: bytes) -> list[Event]:
        """Parse ``piece``; returns the events it completed (often none).

        Raises:
            SSEError: a line grew past :data:`MAX_LINE` characters.
        """
        return self._lines(self._decoder.decode(piece))

    def close(self) -> list[Event]:
        """End of stream: a last event left without its blank line is dispatched too.

        The standard drops such an event; servers that close right after ``data: [DONE]\\n`` are
        common enough that keeping it is kinder.
        """
        events = self._lines(self._decoder.decode(b"", final=True))
        if self._buf:
            self._line(self._buf, events)
            self._buf = ""
        self._dispatch(events)
        return events

    # ------------------------------------------------------------------ internals

    def _lines(self, text: str) -> list[Event]:
        events: list[Event] = []
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
            self._after_cr = False
        if text:
            self._after_cr = text.endswith("\r")
        buf = self._buf + text
        start = 0
        for m in _EOL.finditer(buf):
            self._line(buf[start : m.start()], events)
            start = m.end()
        self._buf = buf[start:]
        if len(self._buf) > MAX_LINE:
            raise SSEError(f"an event-stream line is longer than {MAX_LINE} characters")
        return events

    def _line(self, line: str, events: list[Event]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line.startswith(":"):
            self.comments += 1
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields do not matter to a one-shot request.

    def _dispatch(self, events: list[Event]) -> None:
        if self._data:
            events.append(Event("\n".join(self._data), self._event or "message", self._id))
        self._data = []
        self._event = ""


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


__all__ = ["MAX_LINE", "ChatStream", "Event", "SSEError", "SSEParser", "finish_reason"]
