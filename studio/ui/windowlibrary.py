"""The library side of the window: open / switch conversations, branches, versions, edits.

:class:`LibraryFlow` works on the :class:`~studio.core.session.ChatSession` and the widgets it is
given (chat, pane, sidebar, status bar) and hears answers through the
:class:`~studio.ui.answerrunner.AnswerRunner`. Without a library it works in memory only.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from studio import APP_NAME
from studio.core.conversation import Conversation, Message
from studio.core.extract import extract
from studio.core.extract.types import Artifact, Extraction
from studio.core.fixprompt import display_text
from studio.core.livepreview import Version
from studio.core.patch import looks_like_patch
from studio.core.standalone import standalone_html
from studio.engine.base import ChatMessage
from studio.store.records import ArtifactVersion
from studio.ui.storebridge import context_preamble

if TYPE_CHECKING:
    from studio.core.serving import ArtifactServer
    from studio.core.session import ChatSession
    from studio.store.writer import AnswerRecorder
    from studio.ui.answerrunner import AnswerRunner
    from studio.ui.artifactpane import ArtifactPane
    from studio.ui.chatview import ChatView
    from studio.ui.sidebar import Sidebar
    from studio.ui.statusbar import StudioStatusBar
    from studio.ui.storebridge import StoreBridge

log = logging.getLogger(__name__)

CONSOLE_SETTLE_MS = 1500  # console output of a version is stored again this long after it rendered


class LibraryFlow(QObject):
    """Conversation switching, branches, versions, edit-and-run for one chat.

    Args:
        session: the chat on screen.
        runner: runs its answers (the flow records them as they stream).
        store: the library (None: in memory only).
        server: serves the artifact's pages and data files.
        chat, pane, sidebar, status: the widgets it updates.
        parent: the Qt parent.

    Signals:
        titleChanged(str): the window title for the conversation now shown.
        conversationGone(): the conversation on screen was deleted (start a new one).
    """

    titleChanged = Signal(str)
    conversationGone = Signal()

    def __init__(
        self,
        session: ChatSession,
        runner: AnswerRunner,
        store: StoreBridge | None,
        server: ArtifactServer,
        *,
        chat: ChatView,
        pane: ArtifactPane,
        sidebar: Sidebar | None,
        status: StudioStatusBar,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.s, self.runner, self.store, self.server = session, runner, store, server
        self.chat, self.pane, self.sidebar, self.status = chat, pane, sidebar, status
        self.stored: list[ArtifactVersion] = []  # every version of the conversation's artifact
        self.current_number: int | None = None
        self._recorder: AnswerRecorder | None = None
        self._console_pending: tuple[str, str] | None = None
        runner.answerDelta.connect(self._record_delta)

    # -- opening -------------------------------------------------------------------------

    def open_most_recent(self) -> None:
        """Show the newest conversation, or a new chat when the library is empty."""
        if self.store is None:
            return
        cid = self.store.most_recent()
        if cid is not None:
            self.open_conversation(cid)
        if self.sidebar is not None:
            self.sidebar.refresh()
            self.sidebar.set_current(self.s.conversation.id if cid else None)

    def open_conversation(self, cid: str) -> bool:
        """Show a stored conversation (its current branch and current artifact version)."""
        if self.store is None:
            return False
        t0 = time.perf_counter()
        self.leave_conversation()
        try:
            stored = self.store.load(cid)
        except KeyError:
            self.chat.show_notice("That conversation no longer exists.", "error")
            return False
        self.s.conversation = Conversation.from_messages(stored.messages, stored.current_id, stored.id)
        self.s.interrupted = {m.id for m in stored.messages if m.interrupted}
        self._load_versions()
        self.rebuild_chat()
        current = self.store.current_version(cid)
        if current is not None:
            self._show_stored(current)
        if self.sidebar is not None:
            self.sidebar.set_current(cid)
        self.titleChanged.emit(f"{stored.title or 'New chat'} — Artifacts Studio")
        log.debug("opened %s in %.1f ms", cid, (time.perf_counter() - t0) * 1000)
        return True

    def _load_versions(self) -> None:
        """The stored versions, and per answer the version it made (for the chat's cards)."""
        assert self.store is not None
        self.stored = self.store.versions(self.s.conversation.id)
        self.s.versions.clear()
        for v in self.stored:
            if (
                v.origin not in ("model", "autofix", "patch")
                or v.message_id is None
                or v.message_id not in self.s.conversation
            ):
                continue
            content = self.s.conversation.get(v.message_id).content
            edits = v.origin == "patch" or looks_like_patch(content)  # the answer holds edits, not the file
            extraction = Extraction(None, "", ()) if edits else extract(content)
            if extraction.artifact is None:
                artifact = v.to_artifact()
                html = standalone_html(artifact)
                extraction = Extraction(artifact, "", ())
            else:
                html = standalone_html(extraction.artifact)
            self.s.versions.put(Version(v.message_id, v.number, extraction, html))

    def leave_conversation(self) -> None:
        """Stop an answer in flight and clear the chat and the pane."""
        self.runner.abandon()
        self.server.remove(self.s.artifact_id)
        self.s.leave()
        self.stored = []
        self.chat.clear()
        self.pane.clear()
        self.pane.source_panel.mark_saved()

    def new_conversation(self) -> None:
        """Leave the conversation on screen for an empty one (stored at its first message)."""
        self.leave_conversation()
        self.s.conversation = Conversation()
        self.current_number = None
        self.titleChanged.emit(APP_NAME)
        if self.sidebar is not None:
            self.sidebar.set_current(None)

    # -- answers -------------------------------------------------------------------------

    def with_context(self, messages: list[ChatMessage], answer_id: str | None) -> list[ChatMessage]:
        """Prefix the last user turn with the current artifact when the model has not seen it."""
        if self.store is None or not self.store.exists(self.s.conversation.id):
            return messages
        prev = None
        for msg in self.s.conversation.path():
            if msg.role == "assistant" and msg.id != answer_id and msg.content:
                prev = msg.id
        ctx = self.store.context_version(self.s.conversation.id, prev)
        on_path = {m.id for m in self.s.conversation.path()}
        patched_from = self.stored_regenerated_base(answer_id)
        if patched_from is not None:  # the patch being regenerated made ctx: ask against what it patched
            ctx = None if patched_from.origin == "model" and patched_from.message_id == prev else patched_from
        if ctx is None or (ctx.origin == "model" and ctx.message_id not in on_path):
            return messages  # none, or the answer being regenerated: ask the same question again
        for i in range(len(messages) - 1, -1, -1):
            if messages[i]["role"] == "user":
                messages = list(messages)
                messages[i] = {"role": "user", "content": context_preamble(ctx) + messages[i]["content"]}
                break
        return messages

    def stored_regenerated_base(self, answer_id: str | None) -> ArtifactVersion | None:
        """When an answer is regenerated and the current version is a patch made by the answer it
        replaces: the version that patch was applied to (the new answer edits it instead)."""
        if self.store is None or answer_id is None:
            return None
        cur = self.store.current_version(self.s.conversation.id)
        on_path = {m.id for m in self.s.conversation.path()}
        if cur is None or cur.origin != "patch" or cur.message_id in on_path or cur.based_on is None:
            return None
        try:
            return self.store.library.version(self.s.conversation.id, cur.based_on)
        except KeyError:
            return None

    def regenerated_base(self, answer_id: str | None) -> Version | None:
        """:meth:`stored_regenerated_base` as a version to patch (None: patch the current version)."""
        v = self.stored_regenerated_base(answer_id)
        if v is None:
            return None
        artifact = v.to_artifact()
        return Version(v.message_id or "", v.number, Extraction(artifact, "", ()), standalone_html(artifact))

    def record_version(
        self, msg_id: str, extraction: Extraction, origin: str = "model", based_on: int | None = None
    ) -> Version:
        """Keep an answer's artifact as a new version (in the store too: origin "model", "autofix" or
        "patch"; ``based_on``: the version a patch was applied to)."""
        assert extraction.artifact is not None
        html = standalone_html(extraction.artifact)
        if self.store is None:
            return self.s.versions.record(msg_id, extraction)
        art = extraction.artifact
        stored = self.store.add_version(
            self.s.conversation,
            kind=art.kind,
            title=art.title,
            source=art.source,
            origin=origin,
            message_id=msg_id,
            based_on=based_on,
        )
        self.stored.append(stored)
        version = Version(msg_id, stored.number, extraction, html)
        self.s.versions.put(version)
        self._update_version_bar(stored.number)
        self._save_console_later(stored, html)
        return version

    def _save_console_later(self, version: ArtifactVersion, html: str) -> None:
        """Store the console output of a version once its final render is on screen."""
        self._console_pending = (version.id, html)
        QTimer.singleShot(CONSOLE_SETTLE_MS, self, lambda: self._save_console(version.id, html))

    def _save_console(self, version_id: str, html: str) -> None:
        if self.store is None or self.pane.current_html() != html:
            return
        self.store.set_console(version_id, self.pane.console_entries())

    @Slot(str, bool)
    def on_rendered(self, artifact_id: str, final: bool) -> None:
        pending = self._console_pending
        if final and pending is not None and self.pane.current_html() == pending[1]:
            self._save_console(*pending)

    # -- versions ------------------------------------------------------------------------

    def _update_version_bar(self, current: int | None) -> None:
        self.current_number = current
        self.pane.set_versions([(v.number, v.origin, v.title, v.source) for v in self.stored], current)

    def _show_stored(self, v: ArtifactVersion) -> None:
        """Render a stored version in the pane and make it the one export / copy use."""
        artifact = v.to_artifact()
        html = standalone_html(artifact)
        self.pane.source_panel.mark_saved()
        self.pane.show_artifact(
            self.s.artifact_id, html, title=v.title, kind=v.kind, final=True, source=v.source
        )
        self.s.shown = Version(v.message_id or "", v.number, Extraction(artifact, "", ()), html)
        self._update_version_bar(v.number)

    @Slot(int)
    def show_version_number(self, number: int) -> None:
        """Previous / next: show version ``number`` (it becomes current; nothing is added)."""
        if self.store is None or not self.stored or self.s.busy:
            return
        try:
            v = self.store.set_current_version(self.s.artifact_id, number)
        except KeyError:
            return
        self._show_stored(v)

    @Slot(int)
    def restore_version(self, number: int) -> None:
        """Make version ``number`` current again, as a new version (origin "restore")."""
        if self.store is None or self.s.busy:
            return
        v = self.store.restore(self.s.artifact_id, number)
        self.stored.append(v)
        self._show_stored(v)
        self._save_console_later(v, self.s.shown.html if self.s.shown else "")
        self.status.set_note(f"Restored v{number} as v{v.number}")

    @Slot(str)
    def run_edit(self, source: str) -> None:
        """Render the edited source and save it as a new version (origin "edit")."""
        if self.s.busy or not source.strip():
            return
        base = next((v for v in self.stored if v.number == self.current_number), None)
        kind = base.kind if base else "html"
        title = base.title if base else "Edited artifact"
        if self.store is None:
            artifact = Artifact.whole(kind, title, source)
            html = standalone_html(artifact)
            self.pane.source_panel.mark_saved()
            self.pane.show_artifact(
                self.s.artifact_id, html, title=title, kind=kind, final=True, source=source
            )
            return
        v = self.store.add_version(
            self.s.conversation,
            kind=kind,
            title=title,
            source=source,
            origin="edit",
            based_on=base.number if base else None,
        )
        self.stored.append(v)
        self._show_stored(v)
        self._save_console_later(v, self.s.shown.html if self.s.shown else "")
        self.status.set_note(f"Saved your edit as v{v.number}")
        if self.sidebar is not None:
            self.sidebar.refresh()

    # -- branches ------------------------------------------------------------------------

    @Slot(str, int)
    def switch_branch(self, msg_id: str, index: int) -> None:
        """Show sibling ``index`` of a message (the "< 2/3 >" switch) and the branch below it."""
        if self.s.busy or msg_id not in self.s.conversation:
            return
        siblings = self.s.conversation.siblings(msg_id)
        if not 0 <= index < len(siblings):
            return
        self.s.conversation.switch_to(siblings[index].id)
        if self.store is not None:
            self.store.set_current(self.s.conversation.id, self.s.conversation.current_id)
        self.rebuild_chat()
        last = self.s.conversation.last("assistant")
        made = [v for v in self.stored if last is not None and v.message_id == last.id]
        if made and self.store is not None:
            self.show_version_number(made[-1].number)
        elif last is not None and (version := self.s.versions.get(last.id)) is not None:
            self.s.shown = version
            self.runner.render(version.artifact, version.html, True)

    def add_branch_switches(self, msg_id: str) -> None:
        """Put "< i/n >" under a message that has siblings."""
        siblings = self.s.conversation.siblings(msg_id)
        if len(siblings) > 1:
            index = [m.id for m in siblings].index(msg_id)
            self.chat.set_branch(msg_id, index, len(siblings))

    # -- sidebar -------------------------------------------------------------------------

    @Slot(str)
    def on_conversation_deleted(self, cid: str) -> None:
        if cid == self.s.conversation.id:
            self.conversationGone.emit()

    def show_in_sidebar(self) -> None:
        """List the conversation (newest first) and select it."""
        if self.sidebar is not None:
            self.sidebar.refresh()
            self.sidebar.set_current(self.s.conversation.id)

    # -- recording answers -----------------------------------------------------------------

    def begin_recording(self, msg: Message) -> None:
        """Store an answer as it streams (when there is a library)."""
        if self.store is not None:
            self._recorder = self.store.begin_answer(self.s.conversation, msg)

    @Slot(str, str)
    def _record_delta(self, msg_id: str, text: str) -> None:
        if self._recorder is not None:
            self._recorder.append(text)

    def finish_recorder(self, reason: str, error: str | None, stats: dict[str, Any]) -> None:
        rec, self._recorder = self._recorder, None
        if rec is not None:
            rec.finish(reason, content=self.s.answer_text(), error=error, stats=stats)

    # -- the chat --------------------------------------------------------------------------

    def rebuild_chat(self, skip: str | None = None) -> None:
        """Show the current branch again (after an edit, a regenerate, a switch)."""
        self.chat.clear()
        for msg in self.s.conversation.path():
            if msg.id == skip:
                continue
            if msg.role == "user":
                self.chat.add_user_message(
                    msg.id, display_text(msg.content), [(a.name, a.size) for a in msg.attachments]
                )
                self.add_branch_switches(msg.id)
                continue
            self.chat.begin_assistant_message(msg.id)
            self.chat.append_text(msg.id, msg.content)
            version = self.s.versions.get(msg.id)
            if version is not None:
                self.chat.set_artifact(msg.id, version.extraction, version.number)
            if msg.stats.get("edits"):
                self.chat.set_patch(msg.id, str(msg.stats["edits"]))
            reason = "interrupted" if msg.id in self.s.interrupted else msg.finish_reason or "stop"
            self.chat.finish_assistant_message(msg.id, reason, msg.error)
            self.add_branch_switches(msg.id)
