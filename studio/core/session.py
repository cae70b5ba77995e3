"""One chat as the window shows it, without Qt: the conversation, its artifact's versions, what is
on screen, the turn being edited and the answer streaming in.

The window's helpers (:class:`studio.ui.answerrunner.AnswerRunner`, the library flow, auto-fix) share
this object instead of reaching into the window.
"""

from __future__ import annotations

from studio.core.conversation import Conversation
from studio.core.livepreview import ArtifactVersions, Version


class ChatSession:
    """The state of the chat on screen.

    Attributes:
        conversation: the message tree with its current leaf.
        versions: per answer, the artifact version it made (for the chat's cards).
        shown: the version in the preview (None: the newest one is meant).
        editing: the user message being edited in the composer (None: a new turn).
        interrupted: answers a crash cut off (shown as interrupted).
        answer_id: the answer streaming in now (None when idle).
        fix_prompts: the fix turns auto-fix sent (their answers' versions have origin "autofix").
    """

    def __init__(self) -> None:
        self.conversation = Conversation()
        self.versions = ArtifactVersions()
        self.shown: Version | None = None
        self.editing: str | None = None
        self.interrupted: set[str] = set()
        self.answer_id: str | None = None
        self._answer: list[str] = []
        self.fix_prompts: set[str] = set()

    @property
    def artifact_id(self) -> str:
        """The conversation's artifact (one per conversation; answers make versions of it)."""
        return self.conversation.id

    @property
    def busy(self) -> bool:
        """An answer is streaming in."""
        return self.answer_id is not None

    # -- the answer buffer -----------------------------------------------------------------

    def begin_answer(self, msg_id: str | None) -> None:
        """Start collecting the text of answer ``msg_id`` (None: collect without being busy)."""
        self.answer_id = msg_id
        self._answer = []

    def append_answer(self, text: str) -> None:
        """Add streamed text to the answer."""
        self._answer.append(text)

    def answer_text(self) -> str:
        """The answer's text so far."""
        return "".join(self._answer)

    def end_answer(self) -> None:
        """The answer is over (its text stays readable until the next one begins)."""
        self.answer_id = None

    def is_fix_answer(self, msg_id: str) -> bool:
        """Whether the answer ``msg_id`` replies to a fix prompt."""
        msg = self.conversation.get(msg_id)
        parent = self.conversation.get(msg.parent_id) if msg.parent_id else None
        return parent is not None and parent.content in self.fix_prompts

    # -- versions --------------------------------------------------------------------------

    def current_version(self) -> Version | None:
        """The version in the preview, else the newest one on the current branch."""
        if self.shown is not None:
            return self.shown
        last = self.conversation.last("assistant")
        return self.versions.get(last.id) if last else None

    def leave(self) -> None:
        """Forget what belongs to the conversation on screen: nothing shown, edited or interrupted."""
        self.versions.clear()
        self.shown = None
        self.editing = None
        self.interrupted = set()


__all__ = ["ChatSession"]
