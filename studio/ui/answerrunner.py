"""The answer in flight: the current controller, the live preview, and public signals about both.

:class:`AnswerRunner` is the one place that hears a :class:`GenerationController`. It relays the
current answer's text (``answerDelta``) and its end (``answerFinished``) to whoever listens (the
window, the library flow, auto-fix), renders safe snapshots of the streaming artifact in the pane,
and says when the controller changes (``controllerChanged``), so nothing holds on to an old one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QMetaObject, QObject, Signal, Slot

from studio.core.extract.types import Extraction
from studio.core.livepreview import LivePreview
from studio.core.patchturn import PatchPreview

if TYPE_CHECKING:
    from studio.core.extract import Artifact
    from studio.core.livepreview import Version
    from studio.core.patchturn import TurnOutcome
    from studio.core.session import ChatSession
    from studio.engine.base import ChatMessage, Chunk, GenerationParams
    from studio.ui.artifactpane import ArtifactPane
    from studio.ui.generation import GenerationController

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnswerEnd:
    """How an answer ended, for the ``answerFinished`` listeners.

    Attributes:
        text: the whole answer.
        extraction: its final extraction (None when its conversation was left while it streamed).
        rendered_html: the page the live preview last rendered (None: nothing rendered).
        edits: for an answer of SEARCH/REPLACE edits, what they made (None: not a patch answer).
        edits_base: the version those edits were applied to.
    """

    text: str
    extraction: Extraction | None
    rendered_html: str | None
    edits: TurnOutcome | None = None
    edits_base: Version | None = None


class AnswerRunner(QObject):
    """Runs answers on the current controller and renders them live in the pane.

    Args:
        session: the chat whose answers these are.
        pane: where the live preview renders.
        controller: the first controller (None: no model yet).
        parent: the Qt parent.

    Signals:
        answerStarted(str): an answer began streaming (its message id).
        answerDelta(str, str): text of the current answer arrived (message id, text).
        answerProgress(str, object): figures of the current answer (message id, Chunk).
        previewChanged(str, object): the live extraction changed (message id, Extraction).
        answerFinished(str, object, object): the current answer ended (message id, Chunk, AnswerEnd).
        controllerChanged(object): another controller (or None) runs the answers from now on.
        modelLoading(str), modelLoaded(object), modelLoadFailed(str): from any connected controller.
    """

    answerStarted = Signal(str)
    answerDelta = Signal(str, str)
    answerProgress = Signal(str, object)
    previewChanged = Signal(str, object)
    answerFinished = Signal(str, object, object)
    controllerChanged = Signal(object)
    modelLoading = Signal(str)
    modelLoaded = Signal(object)
    modelLoadFailed = Signal(str)

    def __init__(
        self,
        session: ChatSession,
        pane: ArtifactPane,
        controller: GenerationController | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.pane = pane
        self._controller = controller
        self.preview: LivePreview | None = None
        self.patch: PatchPreview | None = None

    # -- the controller --------------------------------------------------------------------

    @property
    def controller(self) -> GenerationController | None:
        return self._controller

    def set_controller(self, controller: GenerationController | None) -> None:
        """Run the next answers on ``controller`` (connect it first with :meth:`connect_controller`)."""
        if controller is self._controller:
            return
        self._controller = controller
        self.controllerChanged.emit(controller)

    def connect_controller(self, ctl: GenerationController) -> list[QMetaObject.Connection]:
        """Hear a controller (answers are matched by message id, so an old one may finish its answer)."""
        return [
            ctl.loading.connect(self.modelLoading),
            ctl.loaded.connect(self.modelLoaded),
            ctl.loadFailed.connect(self.modelLoadFailed),
            ctl.delta.connect(self._on_delta),
            ctl.progress.connect(self._on_progress),
            ctl.finished.connect(self._on_finished),
        ]

    # -- answers ---------------------------------------------------------------------------

    def start(
        self,
        msg_id: str,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        base: Version | None = None,
    ) -> bool:
        """Stream answer ``msg_id`` on the current controller; False without one.

        Args:
            base: the version an answer of SEARCH/REPLACE edits is applied to (None: none).
        """
        if self._controller is None:
            return False
        self.patch = PatchPreview(base, self.session.current_version(), self.render)
        self.session.begin_answer(msg_id)
        self.preview = LivePreview(self.render)
        self.answerStarted.emit(msg_id)
        self._controller.generate(msg_id, list(messages), params)
        return True

    def stop(self) -> None:
        """Stop the answer in flight (it ends as "cancelled"; the preview keeps its last frame)."""
        if self._controller is not None and self.session.busy:
            self._controller.stop()

    def abandon(self) -> None:
        """Stop the answer in flight without showing it (its conversation is being left)."""
        if self.session.busy and self._controller is not None:
            self.preview = None  # its "finished" then only ends it
            self._controller.stop()

    def render(self, artifact: Artifact, html: str, final: bool) -> None:
        """Show a page of the conversation's artifact in the pane."""
        self.pane.show_artifact(
            self.session.artifact_id,
            html,
            title=artifact.title,
            kind=artifact.kind,
            final=final,
            source=artifact.source,
        )

    @Slot(str, str)
    def _on_delta(self, msg_id: str, text: str) -> None:
        if msg_id != self.session.answer_id or self.preview is None:
            return
        self.session.append_answer(text)
        self.answerDelta.emit(msg_id, text)
        if self.patch is not None and self.patch.feed(text):
            return  # edits: the patch preview renders whole pages, the live preview never sees them
        if self.preview.feed(text):
            snap = self.preview.snapshot
            if snap is not None and snap.artifact is not None:
                self.previewChanged.emit(msg_id, snap)

    @Slot(str, object)
    def _on_progress(self, msg_id: str, chunk: Chunk) -> None:
        if msg_id == self.session.answer_id:
            self.answerProgress.emit(msg_id, chunk)

    @Slot(str, object)
    def _on_finished(self, msg_id: str, chunk: Chunk) -> None:
        if msg_id != self.session.answer_id:
            return
        reason = chunk.finish_reason or "stop"
        preview, self.preview = self.preview, None
        patch, self.patch = self.patch, None
        extraction = rendered = edits = None
        if preview is not None and patch is not None and patch.active:
            edits = patch.finish(reason)
            extraction = Extraction(None, "an answer of edit blocks", ())
        elif preview is not None:
            # A cancelled or failed answer keeps the last good frame unless its artifact is whole.
            extraction = preview.finish(render_partial=reason in ("stop", "length"))
            rendered = preview.rendered_html
        self.session.end_answer()
        end = AnswerEnd(
            self.session.answer_text(), extraction, rendered, edits, patch.base if patch else None
        )
        self.answerFinished.emit(msg_id, chunk, end)


__all__ = ["AnswerEnd", "AnswerRunner"]
