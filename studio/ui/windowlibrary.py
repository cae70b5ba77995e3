"""The library side of the main window: open / switch conversations, branches, versions, edits.

A helper of :class:`studio.ui.mainwindow.MainWindow` (it uses the window's chat, pane, sidebar,
conversation and versions). Without a library the window works as before, in memory only.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Slot

from studio.core.conversation import Conversation
from studio.core.extract import extract
from studio.core.extract.types import Artifact, Extraction
from studio.core.standalone import standalone_html
from studio.engine.base import ChatMessage
from studio.store.records import ArtifactVersion
from studio.ui.livepreview import ArtifactVersions, Version
from studio.ui.storebridge import context_preamble

if TYPE_CHECKING:
    from studio.ui.mainwindow import MainWindow

log = logging.getLogger("studio.window")

CONSOLE_SETTLE_MS = 1500  # console output of a version is stored again this long after it rendered


class StoredVersions(ArtifactVersions):
    """The in-memory versions (per answer, for the chat's cards) with the store's numbers."""

    def put(self, version: Version) -> None:
        self._by_msg[version.msg_id] = version


def version_html(v: ArtifactVersion) -> tuple[Artifact, str]:
    """A stored version as an Artifact and its standalone page."""
    artifact = Artifact(v.kind, v.title, v.source, True, False, ())  # type: ignore[arg-type]
    return artifact, standalone_html(artifact)


class LibraryFlow(QObject):
    """Conversation switching, branches, versions, edit-and-run for one window.

    Args:
        window: the main window whose chat, pane, sidebar, conversation and versions it drives.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window

    # -- opening -------------------------------------------------------------------------

    def open_most_recent(self) -> None:
        """Show the newest conversation, or a new chat when the library is empty."""
        if self.w.store is None:
            return
        cid = self.w.store.most_recent()
        if cid is not None:
            self.open_conversation(cid)
        if self.w.sidebar is not None:
            self.w.sidebar.refresh()
            self.w.sidebar.set_current(self.w.conversation.id if cid else None)

    def open_conversation(self, cid: str) -> bool:
        """Show a stored conversation (its current branch and current artifact version)."""
        if self.w.store is None:
            return False
        t0 = time.perf_counter()
        self.leave_conversation()
        try:
            stored = self.w.store.load(cid)
        except KeyError:
            self.w.chat.show_notice("That conversation no longer exists.", "error")
            return False
        self.w.conversation = Conversation.from_messages(stored.messages, stored.current_id, stored.id)
        self.w._interrupted = {m.id for m in stored.messages if m.interrupted}
        self._load_versions()
        self.w._rebuild_chat()
        current = self.w.store.current_version(cid)
        if current is not None:
            self._show_stored(current)
        if self.w.sidebar is not None:
            self.w.sidebar.set_current(cid)
        self.w.setWindowTitle(f"{stored.title or 'New chat'} — Artifacts Studio")
        log.debug("opened %s in %.1f ms", cid, (time.perf_counter() - t0) * 1000)
        return True

    def _load_versions(self) -> None:
        """The stored versions, and per answer the version it made (for the chat's cards)."""
        assert self.w.store is not None
        self.w.stored = self.w.store.versions(self.w.conversation.id)
        self.w.versions.clear()
        for v in self.w.stored:
            if (
                v.origin not in ("model", "autofix")
                or v.message_id is None
                or v.message_id not in self.w.conversation
            ):
                continue
            content = self.w.conversation.get(v.message_id).content
            extraction = extract(content)
            if extraction.artifact is None:
                artifact, html = version_html(v)
                extraction = Extraction(artifact, "", ())
            else:
                html = standalone_html(extraction.artifact)
            self.w.versions.put(Version(v.message_id, v.number, extraction, html))

    def leave_conversation(self) -> None:
        """Stop an answer in flight and clear the chat and the pane."""
        if self.w.busy and self.w.controller is not None:
            self.w._preview = None  # its "finished" then only stores the answer and resets busy
            self.w.controller.stop()
        self.w.server.remove(self.w.artifact_id)
        self.w.versions.clear()
        self.w.stored = []
        self.w._interrupted = set()
        self.w.shown = None
        self.w._editing = None
        self.w.chat.clear()
        self.w.pane.clear()
        self.w.pane.source_panel.mark_saved()

    # -- answers -------------------------------------------------------------------------

    def with_context(self, messages: list[ChatMessage], answer_id: str | None) -> list[ChatMessage]:
        """Prefix the last user turn with the current artifact when the model has not seen it."""
        if self.w.store is None or not self.w.store.exists(self.w.conversation.id):
            return messages
        prev = None
        for msg in self.w.conversation.path():
            if msg.role == "assistant" and msg.id != answer_id and msg.content:
                prev = msg.id
        ctx = self.w.store.context_version(self.w.conversation.id, prev)
        on_path = {m.id for m in self.w.conversation.path()}
        if ctx is None or (ctx.origin == "model" and ctx.message_id not in on_path):
            return messages  # none, or the answer being regenerated: ask the same question again
        for i in range(len(messages) - 1, -1, -1):
            if messages[i]["role"] == "user":
                messages = list(messages)
                messages[i] = {"role": "user", "content": context_preamble(ctx) + messages[i]["content"]}
                break
        return messages

    def record_version(self, msg_id: str, extraction: Extraction, origin: str = "model") -> Version:
        """Keep an answer's artifact as a new version (in the store too: origin "model" or "autofix")."""
        assert extraction.artifact is not None
        html = standalone_html(extraction.artifact)
        if self.w.store is None:
            return self.w.versions.record(msg_id, extraction)
        art = extraction.artifact
        stored = self.w.store.add_version(
            self.w.conversation,
            kind=art.kind,
            title=art.title,
            source=art.source,
            origin=origin,
            message_id=msg_id,
        )
        self.w.stored.append(stored)
        version = Version(msg_id, stored.number, extraction, html)
        self.w.versions.put(version)
        self._update_version_bar(stored.number)
        self._save_console_later(stored, html)
        return version

    def _save_console_later(self, version: ArtifactVersion, html: str) -> None:
        """Store the console output of a version once its final render is on screen."""
        self.w._console_pending = (version.id, html)
        QTimer.singleShot(CONSOLE_SETTLE_MS, self, lambda: self._save_console(version.id, html))

    def _save_console(self, version_id: str, html: str) -> None:
        if self.w.store is None or self.w.pane.current_html() != html:
            return
        self.w.store.set_console(version_id, self.w.pane.console_entries())

    @Slot(str, bool)
    def on_rendered(self, artifact_id: str, final: bool) -> None:
        pending = self.w._console_pending
        if final and pending is not None and self.w.pane.current_html() == pending[1]:
            self._save_console(*pending)

    # -- versions ------------------------------------------------------------------------

    def _update_version_bar(self, current: int | None) -> None:
        self.w.current_number = current
        self.w.pane.set_versions([(v.number, v.origin, v.title, v.source) for v in self.w.stored], current)

    def _show_stored(self, v: ArtifactVersion) -> None:
        """Render a stored version in the pane and make it the one export / copy use."""
        artifact, html = version_html(v)
        self.w.pane.source_panel.mark_saved()
        self.w.pane.show_artifact(
            self.w.artifact_id, html, title=v.title, kind=v.kind, final=True, source=v.source
        )
        self.w.shown = Version(v.message_id or "", v.number, Extraction(artifact, "", ()), html)
        self._update_version_bar(v.number)

    @Slot(int)
    def show_version_number(self, number: int) -> None:
        """Previous / next: show version ``number`` (it becomes current; nothing is added)."""
        if self.w.store is None or not self.w.stored or self.w.busy:
            return
        try:
            v = self.w.store.set_current_version(self.w.artifact_id, number)
        except KeyError:
            return
        self._show_stored(v)

    @Slot(int)
    def restore_version(self, number: int) -> None:
        """Make version ``number`` current again, as a new version (origin "restore")."""
        if self.w.store is None or self.w.busy:
            return
        v = self.w.store.restore(self.w.artifact_id, number)
        self.w.stored.append(v)
        self._show_stored(v)
        self._save_console_later(v, self.w.shown.html if self.w.shown else "")
        self.w.status.set_note(f"Restored v{number} as v{v.number}")

    @Slot(str)
    def run_edit(self, source: str) -> None:
        """Render the edited source and save it as a new version (origin "edit")."""
        if self.w.busy or not source.strip():
            return
        base = next((v for v in self.w.stored if v.number == self.w.current_number), None)
        kind = base.kind if base else "html"
        title = base.title if base else "Edited artifact"
        if self.w.store is None:
            artifact = Artifact(kind, title, source, True, False, ())  # type: ignore[arg-type]
            html = standalone_html(artifact)
            self.w.pane.source_panel.mark_saved()
            self.w.pane.show_artifact(
                self.w.artifact_id, html, title=title, kind=kind, final=True, source=source
            )
            return
        v = self.w.store.add_version(
            self.w.conversation,
            kind=kind,
            title=title,
            source=source,
            origin="edit",
            based_on=base.number if base else None,
        )
        self.w.stored.append(v)
        self._show_stored(v)
        self._save_console_later(v, self.w.shown.html if self.w.shown else "")
        self.w.status.set_note(f"Saved your edit as v{v.number}")
        if self.w.sidebar is not None:
            self.w.sidebar.refresh()

    # -- branches ------------------------------------------------------------------------

    @Slot(str, int)
    def switch_branch(self, msg_id: str, index: int) -> None:
        """Show sibling ``index`` of a message (the "< 2/3 >" switch) and the branch below it."""
        if self.w.busy or msg_id not in self.w.conversation:
            return
        siblings = self.w.conversation.siblings(msg_id)
        if not 0 <= index < len(siblings):
            return
        self.w.conversation.switch_to(siblings[index].id)
        if self.w.store is not None:
            self.w.store.set_current(self.w.conversation.id, self.w.conversation.current_id)
        self.w._rebuild_chat()
        last = self.w.conversation.last("assistant")
        made = [v for v in self.w.stored if last is not None and v.message_id == last.id]
        if made and self.w.store is not None:
            self.show_version_number(made[-1].number)
        elif last is not None and (version := self.w.versions.get(last.id)) is not None:
            self.w.shown = version
            self.w._render_live(version.artifact, version.html, True)

    def add_branch_switches(self, msg_id: str) -> None:
        """Put "< i/n >" under a message that has siblings."""
        siblings = self.w.conversation.siblings(msg_id)
        if len(siblings) > 1:
            index = [m.id for m in siblings].index(msg_id)
            self.w.chat.set_branch(msg_id, index, len(siblings))

    # -- sidebar -------------------------------------------------------------------------

    @Slot(str)
    def on_conversation_deleted(self, cid: str) -> None:
        if cid == self.w.conversation.id:
            self.w.new_chat()

    def show_in_sidebar(self) -> None:
        """List the conversation (newest first) and select it."""
        if self.w.sidebar is not None:
            self.w.sidebar.refresh()
            self.w.sidebar.set_current(self.w.conversation.id)

    def finish_recorder(self, reason: str, error: str | None, stats: dict[str, Any]) -> None:
        rec, self.w._recorder = self.w._recorder, None
        if rec is not None:
            rec.finish(reason, content="".join(self.w._answer_text), error=error, stats=stats)
