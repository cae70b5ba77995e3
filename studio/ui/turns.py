"""The turns of the chat: send, answer, regenerate, edit, stop, and what an answer's end changes.

:class:`ChatTurns` puts the user's turns into the :class:`~studio.core.session.ChatSession`, starts
answers on the :class:`~studio.ui.answerrunner.AnswerRunner`, and when one ends records its artifact
as a version (through the library flow) and updates the chat and the status bar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from studio.core.fixprompt import display_text
from studio.core.prompts import default_prompt
from studio.engine.base import GenerationParams
from studio.ui.patchflow import PatchAnswers

if TYPE_CHECKING:
    from studio.core.attachments import Attachment
    from studio.core.serving import ArtifactServer
    from studio.core.session import ChatSession
    from studio.engine.base import Chunk
    from studio.ui.answerrunner import AnswerEnd, AnswerRunner
    from studio.ui.chatview import ChatView
    from studio.ui.composer import Composer
    from studio.ui.statusbar import StudioStatusBar
    from studio.ui.storebridge import StoreBridge
    from studio.ui.windowlibrary import LibraryFlow

log = logging.getLogger(__name__)

NO_MODEL_HINT = (
    "No model is loaded. Choose one with Model > Choose Model… (Ctrl+M) or: artifacts-studio --model PATH"
)


class ChatTurns(QObject):
    """Sends turns and reacts to answers for one chat.

    Args:
        session: the chat.
        runner: runs the answers.
        flow: the library side (context, recording, versions, branches, the chat's rebuild).
        store: the library (None: in memory only).
        server: serves the conversation's data files.
        chat, composer, status: the widgets a turn updates.
        params: sampling parameters for every answer.
        system_prompt: the system turn (default: :func:`studio.core.prompts.default_prompt`).
        parent: the Qt parent.

    Signals:
        busyChanged(bool): an answer started (True) or ended (False).
    """

    busyChanged = Signal(bool)

    def __init__(
        self,
        session: ChatSession,
        runner: AnswerRunner,
        flow: LibraryFlow,
        store: StoreBridge | None,
        server: ArtifactServer,
        *,
        chat: ChatView,
        composer: Composer,
        status: StudioStatusBar,
        params: GenerationParams | None = None,
        system_prompt: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.s, self.runner, self.flow = session, runner, flow
        self.store, self.server = store, server
        self.chat, self.composer, self.status = chat, composer, status
        self.params = params or GenerationParams()
        self.system_prompt = system_prompt if system_prompt is not None else default_prompt()
        self.patches = PatchAnswers(session, flow, chat, runner.render, self._send_keeping_draft, self)
        runner.answerFinished.connect(self._on_finished)

    @Slot(str, list)
    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> None:
        """Send a user turn (or the edit of the last one) and start the answer."""
        s = self.s
        if s.busy or not (text.strip() or attachments):
            return
        for att in attachments:
            self.server.put_file(s.artifact_id, att.name, att.mime, att.data)
        editing, s.editing = s.editing, None
        if editing is not None and editing in s.conversation:
            msg = s.conversation.edit(editing, text, list(attachments) or None)
            self.flow.rebuild_chat()
        else:
            msg = s.conversation.add_user(text, list(attachments))
            self.chat.add_user_message(msg.id, display_text(text), [(a.name, a.size) for a in attachments])
        if self.store is not None:
            self.store.add_message(s.conversation, msg)
            self.flow.show_in_sidebar()  # a new chat is listed (and selected) at once
        self.composer.set_text("")
        self.start_answer()

    def start_answer(self, answer_id: str | None = None) -> None:
        """Answer the current branch (or answer ``answer_id`` again)."""
        s = self.s
        messages = self.flow.with_context(s.conversation.to_chat_messages(self.system_prompt), answer_id)
        msg = s.conversation.get(answer_id) if answer_id else s.conversation.add_assistant()
        self.chat.begin_assistant_message(msg.id)
        s.begin_answer(None)
        self.flow.begin_recording(msg)
        base = self.flow.regenerated_base(answer_id) or s.current_version()  # what edits apply to
        if not self.runner.start(msg.id, messages, self.params, base):
            self.flow.finish_recorder("error", NO_MODEL_HINT, {})
            s.conversation.finish(msg.id, "", "error", NO_MODEL_HINT)
            self.chat.finish_assistant_message(msg.id, "error", NO_MODEL_HINT)
            return
        self.busyChanged.emit(True)
        self.status.set_note("Generating…")

    @Slot(str, object, object)
    def _on_finished(self, msg_id: str, chunk: Chunk, end: AnswerEnd) -> None:
        reason = chunk.finish_reason or "stop"
        stats: dict[str, object] = {
            "tps": chunk.tps,
            "ttft": chunk.ttft,
            "generated_tokens": chunk.generated_tokens,
        }
        if end.edits is not None:
            stats["edits"] = PatchAnswers.note(end.edits)
        self.flow.finish_recorder(reason, chunk.error, stats)
        if end.extraction is None:  # an answer of a conversation that was left (New Chat)
            self.busyChanged.emit(False)
            return
        self.s.conversation.finish(msg_id, end.text, reason, chunk.error, **stats)
        if end.edits is not None:
            self.patches.finished(msg_id, end.edits, end.edits_base)
        elif end.extraction.artifact is not None:
            origin = "autofix" if self.s.is_fix_answer(msg_id) else "model"
            version = self.flow.record_version(msg_id, end.extraction, origin)
            if end.rendered_html == version.html:
                self.s.shown = version
            self.chat.set_artifact(msg_id, end.extraction, version.number)
        elif reason in ("stop", "length"):  # say it plainly rather than leave the preview silent
            self.chat.show_notice(f"Nothing to preview: {end.extraction.reason}.", "info")
        self.chat.finish_assistant_message(msg_id, reason, chunk.error)
        self.flow.add_branch_switches(msg_id)
        self.busyChanged.emit(False)
        self.flow.show_in_sidebar()
        if reason == "error":
            self.status.set_note(f"Error: {chunk.error}")
        else:
            self.status.set_stats(chunk, final=True)

    def _send_keeping_draft(self, text: str) -> None:
        """Send a turn the app writes (the fallback) without losing what the user is typing."""
        draft = self.composer.text()
        self.send(text)
        if draft:
            self.composer.set_text(draft)

    @Slot()
    def regenerate(self) -> None:
        """Answer the last user turn again, on a new branch."""
        if self.s.busy:
            return
        try:
            msg = self.s.conversation.regenerate()
        except ValueError as e:
            self.chat.show_notice(str(e).capitalize() + ".", "info")
            return
        self.flow.rebuild_chat(skip=msg.id)
        self.start_answer(msg.id)

    @Slot()
    def edit_last(self) -> None:
        """Put the last user message back into the composer; sending it answers again on a branch."""
        last = None if self.s.busy else self.s.conversation.last("user")
        if last is None:
            return
        self.s.editing = last.id
        self.composer.set_text(last.content)
        self.composer.focus_input()
        self.chat.show_notice("Editing your last message: send it to get a new answer.", "info")

    @Slot(str)
    def show_version(self, msg_id: str) -> None:
        """Show the artifact version made by an answer (a click on its card)."""
        version = self.s.versions.get(msg_id)
        if version is not None:
            self.s.shown = version
            self.runner.render(version.artifact, version.html, True)


__all__ = ["NO_MODEL_HINT", "ChatTurns"]
