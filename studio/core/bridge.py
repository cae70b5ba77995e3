"""The model bridge's policy, Qt-free: what an artifact may ask of the local model, and how much.

An artifact calls ``window.studio.complete(promptOrMessages, {max_tokens, temperature})`` or
``window.studio.stream(...)``; its page sends one JSON request per call. Everything in it is untrusted:
:func:`parse_request` checks types and sizes and caps the numbers. Each run of an artifact (one load
of its page) has a :class:`RunBudget` of tokens and calls; :class:`ConsentBook` remembers the user's
Allow / Deny per artifact.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field

from studio.core.conversation import ChatMessage

log = logging.getLogger(__name__)

MAX_REQUEST_CHARS = 64_000  # one request's JSON text
MAX_PROMPT_CHARS = 16_000  # all of a call's message text together
MAX_MESSAGES = 32
DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_CAP = 1024  # a call asking for more gets this many
DEFAULT_TEMPERATURE = 0.7
MAX_TEMPERATURE = 2.0
RUN_TOKEN_BUDGET = 4096  # tokens one run of an artifact may spend (requests reserve their max_tokens)
RUN_CALL_BUDGET = 64  # calls one run may make
MAX_QUEUED = 8  # calls of one page waiting at once; more are rejected
_ROLES = frozenset({"system", "user", "assistant"})

NOT_ALLOWED = "window.studio: the user did not allow this artifact to use the model"
EXPORTED = "window.studio is only available inside Artifacts Studio (this is an exported file)"


class BridgeError(Exception):
    """A call the bridge refuses; the message is what the artifact's promise rejects with."""


@dataclass(frozen=True, slots=True)
class BridgeCall:
    """One validated call from an artifact.

    Attributes:
        call_id: the page's number for the call (answers carry it back).
        stream: True for ``stream()`` (chunks as they come), False for ``complete()``.
        messages: (role, content) pairs, a bare prompt being one user message.
        max_tokens: the most tokens to generate (capped at :data:`MAX_TOKENS_CAP`).
        temperature: sampling temperature (0 to :data:`MAX_TEMPERATURE`).
    """

    call_id: int
    stream: bool
    messages: tuple[tuple[str, str], ...]
    max_tokens: int
    temperature: float

    @property
    def kind(self) -> str:
        return "stream" if self.stream else "complete"


def parse_request(text: object) -> BridgeCall:
    """Validate a page's request (JSON text: ``{id, kind, input, options}``).

    Raises:
        BridgeError: with a one-line message naming what is wrong.
    """
    if not isinstance(text, str) or len(text) > MAX_REQUEST_CHARS:
        raise BridgeError(
            f"window.studio: the request is not text or longer than {MAX_REQUEST_CHARS} characters"
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BridgeError("window.studio: the request is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BridgeError("window.studio: the request is not an object")
    call_id = data.get("id")
    if not isinstance(call_id, int) or isinstance(call_id, bool) or not 0 <= call_id < 2**53:
        raise BridgeError("window.studio: the request has no valid id")
    kind = data.get("kind")
    if kind not in ("complete", "stream"):
        raise BridgeError("window.studio: unknown call (use complete or stream)")
    messages = _messages(data.get("input"))
    options = data.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise BridgeError("window.studio: options must be an object")
    return BridgeCall(
        call_id,
        kind == "stream",
        messages,
        _max_tokens(options.get("max_tokens")),
        _temperature(options.get("temperature")),
    )


def _messages(value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, str):
        items: list[tuple[str, str]] = [("user", value)]
    elif isinstance(value, list):
        if not 1 <= len(value) <= MAX_MESSAGES:
            raise BridgeError(f"window.studio: give 1 to {MAX_MESSAGES} messages")
        items = []
        for item in value:
            role = item.get("role") if isinstance(item, dict) else None
            content = item.get("content") if isinstance(item, dict) else None
            if role not in _ROLES or not isinstance(content, str):
                raise BridgeError(
                    "window.studio: each message is {role: 'system'|'user'|'assistant', content: string}"
                )
            items.append((role, content))
    else:
        raise BridgeError("window.studio: the prompt must be a string or an array of messages")
    if not any(content.strip() for _, content in items):
        raise BridgeError("window.studio: the prompt is empty")
    if sum(len(content) for _, content in items) > MAX_PROMPT_CHARS:
        raise BridgeError(f"window.studio: the prompt is longer than {MAX_PROMPT_CHARS} characters")
    return tuple(items)


def _max_tokens(value: object) -> int:
    if value is None:
        return DEFAULT_MAX_TOKENS
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 1:
        raise BridgeError("window.studio: max_tokens must be a positive number")
    return min(int(value), MAX_TOKENS_CAP)


def _temperature(value: object) -> float:
    if value is None:
        return DEFAULT_TEMPERATURE
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BridgeError("window.studio: temperature must be a number")
    return min(max(float(value), 0.0), MAX_TEMPERATURE)


@dataclass
class RunBudget:
    """What one run of an artifact may still spend.

    A call reserves its ``max_tokens`` when it is admitted; when it ends, the unused part comes back
    (at least one token is spent per call, so a loop of calls always runs out).
    """

    tokens: int = RUN_TOKEN_BUDGET
    calls: int = RUN_CALL_BUDGET
    reserved: dict[int, int] = field(default_factory=dict)
    stopped: bool = False

    def stop(self) -> None:
        """The user stopped this run's model use: every later call of the run is rejected."""
        self.stopped = True

    def admit(self, call: BridgeCall) -> None:
        """Reserve ``call``'s tokens.

        Raises:
            BridgeError: the run's budget is spent (the message says so).
        """
        if self.stopped:
            raise BridgeError(
                "window.studio: the user stopped this artifact's model use (reload to start again)"
            )
        if self.calls <= 0:
            raise BridgeError(
                "window.studio: this run's budget of model calls is spent (reload to start again)"
            )
        if self.tokens < call.max_tokens:
            raise BridgeError(
                f"window.studio: this run's token budget is spent ({self.tokens} tokens left, "
                f"{call.max_tokens} asked; reload to start again)"
            )
        self.calls -= 1
        self.tokens -= call.max_tokens
        self.reserved[call.call_id] = call.max_tokens

    def settle(self, call_id: int, used: int) -> None:
        """Give back what call ``call_id`` reserved but did not use."""
        reserved = self.reserved.pop(call_id, 0)
        self.tokens += max(0, reserved - max(1, used))


class ConsentBook:
    """The user's answers per artifact: True (allowed), False (denied), absent (ask).

    Args:
        answers: the remembered answers (artifact id -> allowed), e.g. from the settings.
    """

    def __init__(self, answers: dict[str, bool] | None = None) -> None:
        self.answers: dict[str, bool] = {k: v for k, v in (answers or {}).items() if isinstance(v, bool)}

    def get(self, artifact_id: str) -> bool | None:
        return self.answers.get(artifact_id)

    def set(self, artifact_id: str, allowed: bool) -> None:
        self.answers[artifact_id] = allowed

    def forget(self, artifact_id: str | None = None) -> None:
        """Forget one artifact's answer, or all of them (None)."""
        if artifact_id is None:
            self.answers.clear()
        else:
            self.answers.pop(artifact_id, None)


def chat_messages(call: BridgeCall) -> list[ChatMessage]:
    """The call's messages as chat messages (``{"role", "content"}``)."""
    return [ChatMessage(role=role, content=content) for role, content in call.messages]  # type: ignore[typeddict-item]


__all__ = [
    "EXPORTED",
    "NOT_ALLOWED",
    "BridgeCall",
    "BridgeError",
    "ConsentBook",
    "RunBudget",
    "chat_messages",
    "parse_request",
]
