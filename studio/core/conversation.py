"""A conversation as a tree of messages with a current leaf.

Editing a user message or regenerating an answer never overwrites anything: it adds a
sibling branch and moves the current leaf there (Open WebUI's ``history``/``currentId``).
:meth:`Conversation.path` is the branch the user sees; :meth:`Conversation.to_chat_messages`
turns it into what an engine reads.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from studio.core.attachments import Attachment

log = logging.getLogger(__name__)

Role = Literal["system", "user", "assistant"]


class ChatMessage(TypedDict):
    """One turn of a chat, as chat templates (and every engine) expect it."""

    role: Role
    content: str


def _compose(text: str, attachments: Sequence[Attachment]) -> str:
    """The user turn as the model reads it: the text plus what the attachments say."""
    if not attachments:
        return text
    from studio.core.attachments import compose_user_message

    return compose_user_message(text, list(attachments))


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass(slots=True)
class Message:
    """One node of the tree.

    Attributes:
        id: unique within the conversation.
        parent_id: the message this one answers or follows; None for the first turn.
        role: "user" or "assistant" ("system" is not stored: it is added when building the prompt).
        content: the text as typed or as generated (attachments are kept apart).
        attachments: files sent with a user message.
        finish_reason: how an assistant answer ended ("stop", "cancelled", "error", ...).
        error: a one-line message when the answer failed.
        stats: free-form figures (tokens, tok/s, ttft) of an answer.
    """

    id: str
    parent_id: str | None
    role: Role
    content: str = ""
    attachments: tuple[Attachment, ...] = ()
    finish_reason: str | None = None
    error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


class Conversation:
    """A tree of messages with a current leaf.

    Args:
        conversation_id: a stable id (also the id of the conversation's artifact); made up if None.
    """

    def __init__(self, conversation_id: str | None = None) -> None:
        self.id = conversation_id or _new_id("c")
        self._messages: dict[str, Message] = {}
        self._children: dict[str | None, list[str]] = {None: []}
        self.current_id: str | None = None

    @classmethod
    def from_messages(
        cls, messages: Sequence[Any], current_id: str | None, conversation_id: str | None = None
    ) -> Conversation:
        """Rebuild a tree from stored messages (e.g. ``studio.store`` StoredMessage records).

        Args:
            messages: objects with ``id``, ``parent_id``, ``role``, ``content`` and optionally
                ``attachments``, ``finish_reason``, ``error``, ``stats``, oldest first (parents first).
            current_id: the current leaf (None or unknown: the newest leaf of the last branch).
            conversation_id: the conversation's id.
        """
        conv = cls(conversation_id)
        for m in messages:
            if m.role not in ("user", "assistant"):
                continue  # a stored system turn is rebuilt from the prompt, not kept in the tree
            parent = m.parent_id if m.parent_id in conv._messages else None
            if m.parent_id is not None and parent is None:
                log.warning("message %s has a missing parent %s; shown as a first turn", m.id, m.parent_id)
            msg = Message(
                m.id,
                parent,
                m.role,
                m.content,
                tuple(getattr(m, "attachments", ()) or ()),
                getattr(m, "finish_reason", None),
                getattr(m, "error", None),
                dict(getattr(m, "stats", None) or {}),
            )
            conv._messages[msg.id] = msg
            conv._children.setdefault(parent, []).append(msg.id)
            conv._children.setdefault(msg.id, [])
        if current_id in conv._messages:
            conv.current_id = current_id
        elif conv._children[None]:
            conv.switch_to(conv._children[None][-1])
        return conv

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._messages)

    def __contains__(self, msg_id: object) -> bool:
        return msg_id in self._messages

    def get(self, msg_id: str) -> Message:
        """The message with this id; raises KeyError."""
        return self._messages[msg_id]

    def children(self, msg_id: str | None) -> list[Message]:
        """The direct children of a message (None: the roots), oldest first."""
        return [self._messages[i] for i in self._children.get(msg_id, [])]

    def siblings(self, msg_id: str) -> list[Message]:
        """The message and its alternatives (same parent), oldest first."""
        return self.children(self._messages[msg_id].parent_id)

    def path(self) -> list[Message]:
        """The current branch, from the first turn to the current leaf."""
        out: list[Message] = []
        cur = self.current_id
        while cur is not None:
            msg = self._messages[cur]
            out.append(msg)
            cur = msg.parent_id
        out.reverse()
        return out

    def last(self, role: Role) -> Message | None:
        """The last message with this role on the current branch."""
        for msg in reversed(self.path()):
            if msg.role == role:
                return msg
        return None

    def attachments(self) -> list[Attachment]:
        """Every attachment sent on the current branch, oldest first (a later name wins)."""
        by_name: dict[str, Attachment] = {}
        for msg in self.path():
            for att in msg.attachments:
                by_name.pop(att.name, None)
                by_name[att.name] = att
        return list(by_name.values())

    # -- writing -------------------------------------------------------------------------

    def _add(self, parent_id: str | None, role: Role, content: str, attachments: Sequence[Any]) -> Message:
        if parent_id is not None and parent_id not in self._messages:
            raise KeyError(parent_id)
        msg = Message(_new_id("m"), parent_id, role, content, tuple(attachments))
        self._messages[msg.id] = msg
        self._children.setdefault(parent_id, []).append(msg.id)
        self._children[msg.id] = []
        self.current_id = msg.id
        return msg

    def add_user(self, text: str, attachments: Sequence[Attachment] = ()) -> Message:
        """Append a user turn after the current leaf; it becomes the current leaf."""
        return self._add(self.current_id, "user", text, attachments)

    def add_assistant(self, content: str = "", parent_id: str | None = None) -> Message:
        """Append an answer (to ``parent_id``, default the current leaf); it becomes the current leaf."""
        return self._add(self.current_id if parent_id is None else parent_id, "assistant", content, ())

    def set_content(self, msg_id: str, content: str) -> None:
        """Replace a message's text (an answer grows while it streams)."""
        self._messages[msg_id].content = content

    def finish(
        self, msg_id: str, content: str, finish_reason: str, error: str | None = None, **stats: Any
    ) -> Message:
        """Record how an answer ended."""
        msg = self._messages[msg_id]
        msg.content = content
        msg.finish_reason = finish_reason
        msg.error = error
        msg.stats.update(stats)
        return msg

    def edit(self, msg_id: str, text: str, attachments: Sequence[Attachment] | None = None) -> Message:
        """Add an edited copy of a user message as its sibling; it becomes the current leaf.

        Args:
            msg_id: the user message being edited.
            text: the new text.
            attachments: the new attachments; None keeps the original ones.
        """
        old = self._messages[msg_id]
        if old.role != "user":
            raise ValueError("only user messages can be edited")
        atts = old.attachments if attachments is None else tuple(attachments)
        return self._add(old.parent_id, "user", text, atts)

    def regenerate(self, msg_id: str | None = None) -> Message:
        """Add a new, empty answer beside an existing one; it becomes the current leaf.

        Args:
            msg_id: the answer to redo; default the last answer on the current branch.

        Raises:
            ValueError: there is no answer to regenerate.
        """
        target = self._messages[msg_id] if msg_id else self.last("assistant")
        if target is None or target.role != "assistant":
            raise ValueError("there is no answer to regenerate")
        return self._add(target.parent_id, "assistant", "", ())

    def switch_to(self, msg_id: str) -> None:
        """Make a branch current: the newest leaf below ``msg_id`` becomes the current leaf."""
        cur = self._messages[msg_id].id
        while self._children.get(cur):
            cur = self._children[cur][-1]
        self.current_id = cur

    # -- for the engine ------------------------------------------------------------------

    def to_chat_messages(self, system_prompt: str | None = None) -> list[ChatMessage]:
        """The current branch as chat messages (empty answers left out).

        Args:
            system_prompt: prepended as a system turn when not None/empty.
        """
        out: list[ChatMessage] = []
        if system_prompt:
            out.append({"role": "system", "content": system_prompt})
        for msg in self.path():
            if msg.role == "user":
                out.append({"role": "user", "content": _compose(msg.content, msg.attachments)})
            elif msg.role == "assistant" and msg.content:
                out.append({"role": "assistant", "content": msg.content})
        return out
