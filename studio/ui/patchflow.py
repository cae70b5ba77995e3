"""Patch answers in the window: edits applied as they stream, a new version, or the fallback.

The logic is Qt-free (:mod:`studio.core.patchturn`; the answer runner feeds its
:class:`~studio.core.patchturn.PatchPreview`). :class:`PatchAnswers` is the turns' part: a patched
result becomes a version with origin "patch" (or "autofix"), the chat card says what the edits did,
and failed edits ask the model once for the complete file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from studio.core.extract.types import Artifact, Extraction
from studio.core.patchturn import FALLBACK_OPENING, TurnOutcome, fallback_prompt

if TYPE_CHECKING:
    from studio.core.livepreview import Version
    from studio.core.session import ChatSession
    from studio.ui.chatview import ChatView
    from studio.ui.windowlibrary import LibraryFlow

log = logging.getLogger(__name__)

STOPPED = "stopped: the current version is unchanged"
Render = Callable[[Artifact, str, bool], None]


class PatchAnswers(QObject):
    """What the end of a patch answer changes: a version, the chat's card, or the fallback.

    Args:
        session: the chat.
        flow: records versions.
        chat: shows the card's summary and notices.
        render: shows a page in the pane.
        send: sends a user turn (the fallback).
        parent: the Qt parent.
    """

    def __init__(
        self,
        session: ChatSession,
        flow: LibraryFlow,
        chat: ChatView,
        render: Render,
        send: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.s, self.flow, self.chat, self._render, self._send = session, flow, chat, render, send

    @staticmethod
    def note(outcome: TurnOutcome) -> str:
        """The card's line: "2 edits, +3 −1 lines", "1 of 2 edits failed" or "stopped: ..."."""
        return STOPPED if outcome.mode == "stopped" else outcome.summary()

    def finished(self, msg_id: str, outcome: TurnOutcome, base: Version | None) -> None:
        """Record a patched version, or ask for the complete file when edits failed."""
        note = self.note(outcome)
        if outcome.mode == "patch" and outcome.artifact is not None:
            origin = "autofix" if self.s.is_fix_answer(msg_id) else "patch"
            based_on = base.number if base is not None else None
            version = self.flow.record_version(msg_id, Extraction(outcome.artifact, "", ()), origin, based_on)
            self.s.shown = version
            self._render(version.artifact, version.html, True)
            note = f"{note} \u00b7 v{version.number}"
        elif outcome.mode == "failed":
            QTimer.singleShot(0, self, lambda: self.fall_back(msg_id, outcome, base))
        self.chat.set_patch(msg_id, note)

    def fall_back(self, msg_id: str, outcome: TurnOutcome, base: Version | None = None) -> bool:
        """Ask the model once for the complete file after its edits failed (a visible user turn).

        Returns:
            False when it was not asked (a fallback had failed already, or the chat is busy or editing).
        """
        conv = self.s.conversation
        msg = conv.get(msg_id) if msg_id in conv else None
        parent = conv.get(msg.parent_id) if msg is not None and msg.parent_id else None
        if parent is not None and parent.content.startswith(FALLBACK_OPENING):
            self.chat.show_notice(
                "The edits could not be applied; the current version is unchanged.", "error"
            )
            return False
        if outcome.result is None or self.s.busy or self.s.editing is not None:
            return False
        kind = base.artifact.kind if base is not None else "html"
        self.chat.show_notice(
            "The edits could not be applied: asking the model for the complete file.", "info"
        )
        self._send(fallback_prompt(outcome.result, kind))
        return True
