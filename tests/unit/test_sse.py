"""The Server-Sent Events parser and the OpenAI chunk decoder (studio.engine.sse)."""

from __future__ import annotations

import json

import pytest

from studio.engine import sse
from studio.engine.sse import ChatStream, Event, SSEError, SSEParser, finish_reason

# One stream with every feature: comments, multi-line data, event/id fields, UTF-8, [DONE].
STREAM = (
    ": keepalive 1/2\n"
    "\n"
    'data: {"a": "wörld ✓ 🌳"}\n'
    "\n"
    "event: note\n"
    "id: 7\n"
    "data: line one\n"
    "data:line two\n"
    "data:  indented\n"
    "retry: 1000\n"
    "unknown: field\n"
    "\n"
    ": another comment\n"
    "data: [DONE]\n"
    "\n"
)
EXPECTED = [
    Event('{"a": "wörld ✓ 🌳"}'),
    Event("line one\nline two\n indented", "note", "7"),
    Event("[DONE]", "message", "7"),  # the id persists (last event id), per the standard
]


def feed_all(parser: SSEParser, data: bytes, size: int) -> list[Event]:
    events: list[Event] = []
    for i in range(0, len(data), size):
        events += parser.feed(data[i : i + size])
    return events + parser.close()


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 10_000])
def test_any_split_and_line_end_gives_the_same_events(eol: str, size: int) -> None:
    data = STREAM.replace("\n", eol).encode()
    parser = SSEParser()
    assert feed_all(parser, data, size) == EXPECTED
    assert parser.comments == 2


def test_crlf_split_between_pieces_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    # Were the LF a second line end, it would be a blank line and dispatch "a" alone.
    assert parser.feed(b"\ndata: b\r\n\r\n") == [Event("a\nb")]


def test_a_lone_lf_piece_after_cr_does_not_eat_a_later_blank_line() -> None:
    parser = SSEParser()
    parser.feed(b"data: a\r")
    parser.feed(b"\n")  # the LF of the CRLF pair
    assert parser.feed(b"\n") == [Event("a")]  # this LF is a real blank line


def test_utf8_split_inside_a_character() -> None:
    raw = 'data: {"t": "🌳é"}\n\n'.encode()
    cut = raw.index("🌳".encode()) + 2
    parser = SSEParser()
    assert parser.feed(raw[:cut]) == []
    (event,) = parser.feed(raw[cut:])
    assert json.loads(event.data) == {"t": "🌳é"}


def test_bom_is_dropped_and_bad_utf8_is_replaced() -> None:
    parser = SSEParser()
    events = parser.feed(b"\xef\xbb\xbfdata: x\xff\n\n")
    assert events == [Event("x\ufffd")]


def test_close_dispatches_an_event_without_its_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.close() == [Event("[DONE]")]


def test_comments_and_empty_events_dispatch_nothing() -> None:
    parser = SSEParser()
    assert parser.feed(b": ping\n\n\n\nevent: x\n\n") == []
    assert parser.comments == 1


def test_an_endless_line_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "MAX_LINE", 100)
    parser = SSEParser()
    parser.feed(b"data: " + b"x" * 90)
    with pytest.raises(SSEError, match="longer than 100"):
        parser.feed(b"x" * 20)


# ---------------------------------------------------------------------- ChatStream


def chunk_json(content: str | None = None, finish: str | None = None, **extra: object) -> str:
    delta = {"role": "assistant"} if content is None else {"content": content}
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})


def test_chat_stream_counts_deltas_then_takes_usage() -> None:
    st = ChatStream(0.0)
    first = st.event(chunk_json("He"))
    assert first is not None and first.text == "He" and first.generated_tokens == 1
    assert first.ttft is not None and first.ttft > 0 and first.finish_reason is None
    second = st.event(chunk_json("llo"))
    assert second is not None and second.generated_tokens == 2 and second.ttft == first.ttft
    assert st.event(chunk_json(None, "length")) is None  # the finish is held until [DONE]
    usage = {"prompt_tokens": 40, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 30}}
    assert st.event(json.dumps({"choices": [], "usage": usage})) is None
    last = st.end(st.finish or "stop")
    assert (last.finish_reason, last.generated_tokens, last.prompt_tokens, last.prefilled_tokens) == (
        "length",
        3,
        40,
        10,
    )
    assert last.tps > 0 and last.prompt_tps > 0 and last.ttft == first.ttft


@pytest.mark.parametrize(
    ("reason", "ours"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("max_tokens", "length"),
        ("tool_calls", "stop"),
        ("eos", "stop"),
    ],
)
def test_finish_reasons_map_to_ours(reason: str, ours: str) -> None:
    assert finish_reason(reason) == ours


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "malformed data"),
        ('{"error": {"message": "out of memory\\nTraceback..."}}', "failed mid-answer: out of memory"),
        ('{"error": "plain text error"}', "failed mid-answer: plain text error"),
        ('{"error": {"code": 500}}', "failed mid-answer"),
        (chunk_json(None, "content_filter"), "content filter"),
    ],
)
def test_bad_payloads_end_the_stream_with_one_line(payload: str, message: str) -> None:
    st = ChatStream(0.0)
    chunk = st.event(payload)
    assert chunk is not None and chunk.finish_reason == "error" and st.finished
    assert chunk.error is not None and message in chunk.error and "\n" not in chunk.error


def test_payloads_without_text_make_no_chunk() -> None:
    st = ChatStream(0.0)
    for payload in ('{"choices": []}', '{"id": "x"}', chunk_json(""), chunk_json(None), '{"choices": [5]}'):
        assert st.event(payload) is None
    assert st.generated == 0 and st.finish is None
