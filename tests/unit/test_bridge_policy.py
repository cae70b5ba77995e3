"""The model bridge's policy (Qt-free): request validation, the run budget, remembered consent."""

from __future__ import annotations

import json

import pytest

from studio.core.bridge import (
    DEFAULT_MAX_TOKENS,
    MAX_MESSAGES,
    MAX_REQUEST_CHARS,
    MAX_TOKENS_CAP,
    BridgeError,
    ConsentBook,
    RunBudget,
    chat_messages,
    parse_request,
)
from studio.store.settings import Settings, from_json


def req(**fields: object) -> str:
    return json.dumps({"id": 7, "kind": "complete", "input": "hi", "options": None, **fields})


def test_a_prompt_or_messages_become_chat_messages_with_capped_options() -> None:
    call = parse_request(req())
    assert (call.call_id, call.stream, call.max_tokens) == (7, False, DEFAULT_MAX_TOKENS)
    assert chat_messages(call) == [{"role": "user", "content": "hi"}]
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Quiz me."}]
    call = parse_request(req(kind="stream", input=msgs, options={"max_tokens": 10**9, "temperature": 9}))
    assert call.stream and call.max_tokens == MAX_TOKENS_CAP and call.temperature == 2.0
    assert chat_messages(call) == msgs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1]", "not an object"),
        (req(id="7"), "no valid id"),
        (req(id=True), "no valid id"),
        (req(kind="eval"), "unknown call"),
        (req(input=None), "string or an array"),
        (req(input=[]), "give 1 to"),
        (req(input=[{"role": "user"}] * (MAX_MESSAGES + 1)), "give 1 to"),
        (req(input=[{"role": "tool", "content": "x"}]), "each message is"),
        (req(input=[{"role": "user", "content": 5}]), "each message is"),
        (req(input="   "), "the prompt is empty"),
        (req(input="x" * 20_000), "longer than"),
        (req(options=[1]), "options must be an object"),
        (req(options={"max_tokens": 0}), "max_tokens must be a positive number"),
        (req(options={"max_tokens": True}), "max_tokens must be a positive number"),
        (req(options={"temperature": "warm"}), "temperature must be a number"),
        ("x" * (MAX_REQUEST_CHARS + 1), "longer than"),
        ("[" * 100_000, "longer than"),
    ],
)
def test_a_bad_request_is_refused_with_a_one_line_message(text: str, message: str) -> None:
    with pytest.raises(BridgeError, match=message) as caught:
        parse_request(text)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("window.studio")


def test_the_budget_reserves_max_tokens_gives_back_the_rest_and_stops_a_loop() -> None:
    budget = RunBudget(tokens=100, calls=1000)
    call = parse_request(req(options={"max_tokens": 40}))
    budget.admit(call)
    assert budget.tokens == 60
    budget.settle(call.call_id, 10)
    assert budget.tokens == 90
    admitted = 0
    with pytest.raises(BridgeError, match="token budget is spent"):
        for n in range(1000):  # a loop of calls that each use nothing still ends: each spends one token
            budget.admit(parse_request(req(id=n, options={"max_tokens": 40})))
            budget.settle(n, 0)
            admitted += 1
    assert admitted == 51 and budget.tokens == 39  # 90 tokens, one spent per call, 40 asked each time
    calls = RunBudget(tokens=10**6, calls=2)
    for n in range(2):
        calls.admit(parse_request(req(id=n)))
    with pytest.raises(BridgeError, match="budget of model calls is spent"):
        calls.admit(parse_request(req(id=3)))
    stopped = RunBudget()
    stopped.stop()
    with pytest.raises(BridgeError, match="stopped"):
        stopped.admit(call)


def test_consent_is_remembered_per_artifact_and_kept_in_the_settings() -> None:
    book = ConsentBook({"a": True, "b": "yes"})  # type: ignore[dict-item]  # a bad value is dropped
    assert (book.get("a"), book.get("b"), book.get("c")) == (True, None, None)
    book.set("c", False)
    book.forget("a")
    assert book.answers == {"c": False}
    book.forget()
    assert book.answers == {}
    settings = from_json({"model_access": {"quiz": True, "game": False}})
    assert settings.model_access == {"quiz": True, "game": False}
    assert from_json(Settings(model_access={"x": True}).to_json()).model_access == {"x": True}
    assert from_json({"model_access": {"quiz": "yes"}}).model_access == {}  # a bad value: the default
    assert from_json({"model_access": ["quiz"]}).model_access == {}


def test_a_refused_model_call_is_the_environments_not_the_models_to_fix() -> None:
    from studio.core.bridge import EXPORTED, NOT_ALLOWED
    from studio.core.checks import environment_issue
    from studio.ui.bridgeui import NO_MODEL, RUN_ENDED, STOPPED
    from studio.web.bridge import NOT_HERE

    for message in (
        NOT_ALLOWED,
        EXPORTED,
        NOT_HERE,
        STOPPED,
        RUN_ENDED,
        NO_MODEL,
        "window.studio: the check does not run the model",
    ):
        assert environment_issue(f"Uncaught (in promise) Error: {message}") == "model", message
    for bug in (
        "window.studio: max_tokens must be a positive number",
        "window.studio: this run's token budget is spent",
    ):
        assert environment_issue(f"Uncaught (in promise) Error: {bug}") is None  # the artifact's own bug
