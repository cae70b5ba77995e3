"""The OpenAI chunk decoder (studio.engine.openai_stream); httpx2 parses the event stream itself
(its framing under hostile chunking is tested in tests/engine/test_openai_wire.py)."""

from __future__ import annotations

import json

import pytest

from studio.engine.openai_stream import ChatStream, finish_reason

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
