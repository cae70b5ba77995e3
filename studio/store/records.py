"""The plain records the library answers with (frozen dataclasses, no SQLite types leak out)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from studio.core.attachments import Attachment
from studio.core.extract.types import Artifact

MessageState = Literal["done", "streaming", "interrupted"]
Origin = Literal["model", "edit", "autofix", "restore", "patch"]
ORIGINS: tuple[str, ...] = ("model", "edit", "autofix", "restore", "patch")
TITLE_MAX = 60


def new_id() -> str:
    """A fresh id (uuid4 hex); the in-memory tree may use its own ids, any unique text works."""
    return uuid.uuid4().hex


def make_title(prompt: str, limit: int = TITLE_MAX) -> str:
    """A conversation title from its first prompt (no model call).

    The first non-empty line, markdown markers dropped, whitespace collapsed, cut at a word
    boundary with an ellipsis when longer than ``limit``.
    """
    for line in prompt.splitlines():
        text = re.sub(r"^\s*(?:[#>*+-]+|\d+[.)])\s*", "", line)
        text = re.sub(r"[`*_]{1,3}", "", text)
        text = " ".join(text.split())
        if text:
            break
    else:
        return "New chat"
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the sidebar / ``history``.

    Attributes:
        id: the conversation id.
        title: its title.
        created: creation time (Unix seconds).
        updated: last change (Unix seconds).
        messages: how many messages it holds (every branch).
        artifacts: how many artifact versions it holds.
        interrupted: one of its answers was cut off by a crash or kill.
    """

    id: str
    title: str
    created: float
    updated: float
    messages: int = 0
    artifacts: int = 0
    interrupted: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "messages": self.messages,
            "artifacts": self.artifacts,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A conversation that matches a search, with a snippet of where.

    Attributes:
        conversation: the matching conversation.
        snippet: the matching text with hits wrapped in ``[`` ``]``.
        message_id: the matching message (None when only the title matched).
    """

    conversation: ConversationSummary
    snippet: str
    message_id: str | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as stored (compatible with ``studio.core.conversation.Message``).

    Attributes:
        id, parent_id, role, content, attachments: as in the in-memory tree.
        conversation_id: the conversation it belongs to.
        state: "done", "streaming" (being written) or "interrupted" (the writer died).
        finish_reason: how an answer ended ("stop", "length", "cancelled", "error", "interrupted").
        error: a one-line message when the answer failed.
        stats: figures of an answer (tokens, tok/s, ttft).
        created, updated: Unix seconds.
    """

    id: str
    conversation_id: str
    parent_id: str | None
    role: str
    content: str
    attachments: tuple[Attachment, ...] = ()
    state: MessageState = "done"
    finish_reason: str | None = None
    error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    updated: float = 0.0

    @property
    def interrupted(self) -> bool:
        return self.state == "interrupted"


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """A whole conversation tree.

    Attributes:
        id: the conversation id.
        title: its title.
        current_id: the current leaf (the branch the chat shows ends there).
        messages: every message of every branch, oldest first (sibling order).
    """

    id: str
    title: str
    current_id: str | None
    messages: tuple[StoredMessage, ...]
    created: float = 0.0
    updated: float = 0.0

    def by_id(self) -> dict[str, StoredMessage]:
        return {m.id: m for m in self.messages}

    def path(self) -> list[StoredMessage]:
        """The current branch, first turn first."""
        index = self.by_id()
        out: list[StoredMessage] = []
        cur = self.current_id
        while cur is not None and cur in index:
            out.append(index[cur])
            cur = index[cur].parent_id
        out.reverse()
        return out

    def siblings(self, msg_id: str) -> list[StoredMessage]:
        """The message and its alternatives (same parent), oldest first: the "< 2/3 >" switch."""
        parent = self.by_id()[msg_id].parent_id
        return [m for m in self.messages if m.parent_id == parent]


@dataclass(frozen=True, slots=True)
class ArtifactVersion:
    """One version of an artifact.

    Attributes:
        id: the version's own id.
        artifact_id: the artifact (for the main artifact of a conversation: the conversation id).
        conversation_id: its conversation.
        number: 1, 2, 3 ... in the order they were made.
        message_id: the answer that made it (None for edits not tied to an answer).
        origin: "model", "edit", "autofix", "restore" or "patch".
        kind, title, source: what ``studio.core.extract`` found (``Artifact`` fields).
        console: the console entries ({level, message, line, source}) seen when it rendered.
        based_on: the version number an edit or restore started from.
        created: Unix seconds.
    """

    id: str
    artifact_id: str
    conversation_id: str
    number: int
    message_id: str | None
    origin: str
    kind: str
    title: str
    source: str
    console: tuple[dict[str, Any], ...] = ()
    based_on: int | None = None
    created: float = 0.0

    def to_artifact(self) -> Artifact:
        """This version as a complete :class:`~studio.core.extract.types.Artifact`."""
        return Artifact.whole(self.kind, self.title, self.source)


@dataclass(frozen=True, slots=True)
class GalleryItem:
    """One artifact in the gallery (its current version).

    Attributes:
        artifact_id: the artifact (a conversation's main artifact has the conversation's id).
        conversation_id: the conversation that made it (opening the item opens it).
        version_id: the id of its current version.
        number: the current version's number.
        versions: how many versions it has.
        title: the current version's title.
        kind: "html", "svg", "react" ...
        conversation_title: the conversation's title.
        updated: the conversation's last change (Unix seconds).
        pinned: when it was pinned (Unix seconds), None when not pinned.
        thumbnail: a PNG of the current version, else of its newest version that has one (None: none).
    """

    artifact_id: str
    conversation_id: str
    version_id: str
    number: int
    versions: int
    title: str
    kind: str
    conversation_title: str
    updated: float
    pinned: float | None = None
    thumbnail: bytes | None = None
