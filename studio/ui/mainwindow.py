"""The studio window: the chat (and composer) beside a live, sandboxed artifact preview.

Data flows one way: composer -> conversation -> GenerationController (worker thread) -> batched
deltas -> chat view and LivePreview -> artifact pane. The window owns the conversation and the
versions of its artifact; widgets only show them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWebEngineCore import QWebEngineProfile
from PySide6.QtWidgets import QFileDialog, QMainWindow, QSplitter, QVBoxLayout, QWidget

from studio.core.conversation import Conversation, default_system_prompt
from studio.core.fixprompt import display_text
from studio.core.serving import ArtifactServer
from studio.engine.base import Chunk, GenerationParams
from studio.store.library import Library
from studio.store.settings import Settings
from studio.store.writer import AnswerRecorder, LibraryWriter
from studio.ui.artifactpane import ArtifactPane
from studio.ui.autofix import AutoFixer, auto_fix_setting
from studio.ui.chatview import ChatView
from studio.ui.composer import Composer
from studio.ui.exportdialog import save_dialog, write_export
from studio.ui.generation import GenerationController
from studio.ui.livepreview import LivePreview, Version
from studio.ui.modelswitch import ModelSwitcher
from studio.ui.settings import open_settings, restore_window, save_window
from studio.ui.settingsdialog import SettingsDialog, apply_settings, open_settings_dialog
from studio.ui.sidebar import Sidebar
from studio.ui.statusbar import StudioStatusBar
from studio.ui.storebridge import StoreBridge
from studio.ui.windowlibrary import LibraryFlow, StoredVersions
from studio.web.profile import artifact_interceptor

if TYPE_CHECKING:
    from studio.core.attachments import Attachment
    from studio.core.extract import Artifact
    from studio.store.records import ArtifactVersion

log = logging.getLogger("studio.window")

NO_MODEL_HINT = (
    "No model is loaded. Choose one with Model > Choose Model… (Ctrl+M) or: artifacts-studio --model PATH"
)


class MainWindow(QMainWindow):
    """Sidebar | chat | artifact splitter, menus, shortcuts and the status bar.

    Args:
        server: serves artifact pages and attachment data by URL.
        profile: the sandboxed web profile the preview renders in.
        controller: runs the engine; None when no model was given (the chat says how to pick one).
        params: sampling parameters for every answer.
        settings: where window geometry and splitter state are kept (default: :func:`studio.store.paths.window_state_path`).
        system_prompt: the system turn; default studio.core.prompts.system_prompt().
        native_dialogs: use the platform's file dialogs (False in tests and screenshots).
        library: the conversations store (None: nothing is kept, no sidebar).
        writer: its writer thread (default: one made for the window and closed with it).
        app_settings: the user's settings as loaded (the Settings dialog edits and saves them).
        settings_file: where the Settings dialog saves (default: the per-user config folder).
        overridden: settings given as command-line flags this session (they keep winning).
        parent: the Qt parent.
    """

    def __init__(
        self,
        server: ArtifactServer,
        profile: QWebEngineProfile,
        controller: GenerationController | None,
        *,
        params: GenerationParams | None = None,
        settings: QSettings | None = None,
        system_prompt: str | None = None,
        native_dialogs: bool = True,
        library: Library | None = None,
        writer: LibraryWriter | None = None,
        app_settings: Settings | None = None,
        settings_file: Path | None = None,
        overridden: dict[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Artifacts Studio")
        self.server = server
        self.controller = controller
        self.params = params or GenerationParams()
        self.system_prompt = system_prompt if system_prompt is not None else default_system_prompt()
        self.native_dialogs = native_dialogs
        self.settings = settings or open_settings()
        self.conversation = Conversation()
        self.versions = StoredVersions()
        self.store = StoreBridge(library, writer) if library is not None else None
        self.app_settings = app_settings or Settings()
        self.settings_file = settings_file
        self.overridden = dict(overridden or {})
        self.stored: list[ArtifactVersion] = []  # every version of the conversation's artifact
        self.current_number: int | None = None
        self._recorder: AnswerRecorder | None = None
        self._interrupted: set[str] = set()
        self._console_pending: tuple[str, str] | None = None
        self.flow = LibraryFlow(self)
        self.shown: Version | None = None  # the version in the preview
        self._preview: LivePreview | None = None
        self._answer_id: str | None = None
        self._answer_text: list[str] = []
        self._editing: str | None = None
        self._closed = False

        self.chat = ChatView()
        self.composer = Composer()
        self.pane = ArtifactPane(profile, server)
        self.pane_profile = profile
        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.chat, 1)
        box.addWidget(self.composer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.pane)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.sidebar: Sidebar | None = None
        if library is not None:
            self.sidebar = Sidebar(library)
            self.sidebar.setMinimumWidth(180)
            self.outer = QSplitter(Qt.Orientation.Horizontal)
            self.outer.addWidget(self.sidebar)
            self.outer.addWidget(self.splitter)
            self.outer.setStretchFactor(1, 1)
            self.outer.setSizes([240, 1160])
            self.setCentralWidget(self.outer)
        else:
            self.setCentralWidget(self.splitter)
        self.status = StudioStatusBar(self)
        self.setStatusBar(self.status)
        self.models = ModelSwitcher(self)  # the welcome view, the picker and model swaps
        self._build_actions()
        self._connect()
        self.autofix = AutoFixer(self, auto_fix_setting(self.app_settings))
        restore_window(self.settings, self, self.splitter)
        if controller is None:
            self.status.set_model("No model")
            self.chat.show_notice(NO_MODEL_HINT, "info")  # under the welcome view, for when it is left
            self.models.show_welcome()
        else:
            self.status.set_model(self._model_name())
        if self.store is not None:
            self.flow.open_most_recent()

    # -- building ------------------------------------------------------------------------

    def _action(self, menu: Any, text: str, shortcut: str | None, slot: Any) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.act_new = self._action(file_menu, "&New Chat", "Ctrl+N", self.new_chat)
        self.act_export = self._action(file_menu, "&Export HTML…", "Ctrl+E", self.export_dialog)
        self.act_settings = self._action(file_menu, "&Settings…", "Ctrl+,", self.open_settings_dialog)
        file_menu.addSeparator()
        self.act_quit = self._action(file_menu, "&Quit", "Ctrl+Q", self.close)
        edit_menu = bar.addMenu("&Edit")
        self.act_copy = self._action(edit_menu, "&Copy Source", "Ctrl+Shift+C", self.copy_source)
        self.act_edit = self._action(edit_menu, "&Edit Last Message", "Ctrl+Shift+E", self.edit_last)
        self.act_focus = self._action(edit_menu, "&Focus Composer", "Ctrl+L", self.composer.focus_input)
        model_menu = bar.addMenu("&Model")
        self.act_model = self._action(model_menu, "&Choose Model…", "Ctrl+M", self.choose_model)
        gen_menu = bar.addMenu("&Generate")
        self.act_regen = self._action(gen_menu, "&Regenerate", "Ctrl+R", self.regenerate)
        # Esc is also the composer's own key; the action is for the menu and for focus elsewhere.
        self.act_stop = self._action(gen_menu, "&Stop", None, self.stop)
        self.act_stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.act_stop.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.act_stop.setEnabled(False)
        help_menu = bar.addMenu("&Help")
        self.act_about = self._action(help_menu, "&About Artifacts Studio", None, self.show_about)
        self.act_about.setMenuRole(QAction.MenuRole.AboutRole)  # the app menu on macOS

    @Slot()
    def show_about(self) -> Any:
        """Help > About: the app's name, version and icon (a non-modal box, returned)."""
        from studio.about import about_box

        return about_box(self)

    def _connect(self) -> None:
        self.composer.sendRequested.connect(self.send)
        self.composer.stopRequested.connect(self.stop)
        self.composer.attachmentRefused.connect(lambda reason: self.chat.show_notice(reason, "error"))
        self.chat.filesDropped.connect(self.composer.add_files)
        self.chat.artifactActivated.connect(self.show_version)
        self.chat.branchRequested.connect(self.flow.switch_branch)
        self.pane.versionRequested.connect(self.flow.show_version_number)
        self.pane.restoreRequested.connect(self.flow.restore_version)
        self.pane.runRequested.connect(self.flow.run_edit)
        self.pane.rendered.connect(self.flow.on_rendered)
        if self.sidebar is not None:
            self.sidebar.conversationSelected.connect(self.flow.open_conversation)
            self.sidebar.newChatRequested.connect(self.new_chat)
            self.sidebar.conversationDeleted.connect(self.flow.on_conversation_deleted)
        if self.controller is not None:
            self.models.attach(self.controller)  # the same wiring as a model chosen later

    @Slot()
    def choose_model(self) -> Any:
        """Model > Choose Model…: the model picker (window-modal, returned)."""
        return self.models.open_picker()

    def set_controller(self, engine: str, model: str, options: dict[str, Any] | None = None) -> None:
        """Switch to another model now (async; see :class:`~studio.ui.modelswitch.ModelSwitcher`)."""
        self.models.switch(engine, model, options)

    def _model_name(self) -> str:
        if self.controller is None:
            return "No model"
        info = self.controller.engine.model
        engine = self.controller.engine.name
        return f"{info.name} ({engine})" if info else f"No model loaded ({engine})"

    # -- window state --------------------------------------------------------------------

    def save_state(self) -> None:
        """Write geometry and splitter state to the settings file."""
        save_window(self.settings, self, self.splitter)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.composer.focus_input()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.hide()  # gone at once, even while a model load is still finishing
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Save the window state and stop the engine thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.save_state()
        self.models.shutdown()
        if self.controller is not None:
            self.controller.shutdown()
        self.flow.finish_recorder("cancelled", None, {})
        if self.store is not None:
            self.store.close()

    # -- conversation flow ---------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._answer_id is not None

    @property
    def artifact_id(self) -> str:
        """The conversation's artifact (one per conversation; answers make versions of it)."""
        return self.conversation.id

    @Slot(str, list)
    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> None:
        """Send a user turn (or the edit of the last one) and start the answer."""
        if self.busy or not (text.strip() or attachments):
            return
        for att in attachments:
            self.server.put_file(self.artifact_id, att.name, att.mime, att.data)
        if self._editing is not None and self._editing in self.conversation:
            msg = self.conversation.edit(self._editing, text, list(attachments) or None)
            self._editing = None
            self._rebuild_chat()
        else:
            self._editing = None
            msg = self.conversation.add_user(text, list(attachments))
            self.chat.add_user_message(msg.id, display_text(text), [(a.name, a.size) for a in attachments])
        if self.store is not None:
            self.store.add_message(self.conversation, msg)
            self.flow.show_in_sidebar()  # a new chat is listed (and selected) at once
        self.composer.set_text("")
        self._start_answer()

    def _start_answer(self, answer_id: str | None = None) -> None:
        messages = self.flow.with_context(self.conversation.to_chat_messages(self.system_prompt), answer_id)
        msg = self.conversation.get(answer_id) if answer_id else self.conversation.add_assistant()
        self.chat.begin_assistant_message(msg.id)
        self._answer_text = []
        if self.store is not None:
            self._recorder = self.store.begin_answer(self.conversation, msg)
        if self.controller is None:
            self.flow.finish_recorder("error", NO_MODEL_HINT, {})
            self.conversation.finish(msg.id, "", "error", NO_MODEL_HINT)
            self.chat.finish_assistant_message(msg.id, "error", NO_MODEL_HINT)
            return
        self._answer_id = msg.id
        self._answer_text = []
        self._preview = LivePreview(self._render_live)
        self.composer.set_busy(True)
        self.act_stop.setEnabled(True)
        self.status.set_note("Generating…")
        self.controller.generate(msg.id, messages, self.params)

    def _render_live(self, artifact: Artifact, html: str, final: bool) -> None:
        self.pane.show_artifact(
            self.artifact_id,
            html,
            title=artifact.title,
            kind=artifact.kind,
            final=final,
            source=artifact.source,
        )

    @Slot(str, str)
    def _on_delta(self, msg_id: str, text: str) -> None:
        if msg_id != self._answer_id or self._preview is None:
            return
        self._answer_text.append(text)
        if self._recorder is not None:
            self._recorder.append(text)
        self.chat.append_text(msg_id, text)
        if self._preview.feed(text):
            snap = self._preview.snapshot
            if snap is not None and snap.artifact is not None:
                self.chat.set_artifact(msg_id, snap, self.versions.number_for(msg_id))

    @Slot(str, object)
    def _on_progress(self, msg_id: str, chunk: Chunk) -> None:
        if msg_id == self._answer_id:
            self.status.set_stats(chunk, final=False)

    @Slot(str, object)
    def _on_finished(self, msg_id: str, chunk: Chunk) -> None:
        if msg_id != self._answer_id:
            return
        reason = chunk.finish_reason or "stop"
        stats = {"tps": chunk.tps, "ttft": chunk.ttft, "generated_tokens": chunk.generated_tokens}
        self.flow.finish_recorder(reason, chunk.error, stats)
        if self._preview is None:  # an answer of a conversation that was closed (New Chat)
            self._end_busy()
            return
        text = "".join(self._answer_text)
        preview = self._preview
        # A cancelled or failed answer keeps the last good frame unless its artifact is whole.
        extraction = preview.finish(render_partial=reason in ("stop", "length"))
        self.conversation.finish(msg_id, text, reason, chunk.error, **stats)
        if extraction.artifact is not None:
            origin = "autofix" if self.autofix.is_fix_answer(msg_id) else "model"
            version = self.flow.record_version(msg_id, extraction, origin)
            if preview.rendered_html == version.html:
                self.shown = version
            self.chat.set_artifact(msg_id, extraction, version.number)
        self.chat.finish_assistant_message(msg_id, reason, chunk.error)
        self.flow.add_branch_switches(msg_id)
        self._end_busy()
        self.flow.show_in_sidebar()
        if reason == "error":
            self.status.set_note(f"Error: {chunk.error}")
        else:
            self.status.set_stats(chunk, final=True)

    def _end_busy(self) -> None:
        self._answer_id = None
        self._preview = None
        self.composer.set_busy(False)
        self.act_stop.setEnabled(False)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.status.set_model("Model not loaded")
        self.chat.show_notice(f"The model could not be loaded: {message}", "error")

    # -- commands ------------------------------------------------------------------------

    @Slot()
    def stop(self) -> None:
        """Stop the answer in flight (it ends as "cancelled"; the preview keeps its last frame)."""
        if self.controller is not None and self.busy:
            self.controller.stop()

    @Slot()
    def new_chat(self) -> None:
        """Start an empty conversation (stops any answer in flight); it is stored at its first message."""
        self.flow.leave_conversation()
        self.conversation = Conversation()
        self.current_number = None
        self.setWindowTitle("Artifacts Studio")
        if self.sidebar is not None:
            self.sidebar.set_current(None)
        self.composer.set_text("")
        self.composer.focus_input()

    @Slot()
    def regenerate(self) -> None:
        """Answer the last user turn again, on a new branch."""
        if self.busy:
            return
        try:
            msg = self.conversation.regenerate()
        except ValueError as e:
            self.chat.show_notice(str(e).capitalize() + ".", "info")
            return
        self._rebuild_chat(skip=msg.id)
        self._start_answer(msg.id)

    @Slot()
    def edit_last(self) -> None:
        """Put the last user message back into the composer; sending it answers again on a branch."""
        if self.busy:
            return
        last = self.conversation.last("user")
        if last is None:
            return
        self._editing = last.id
        self.composer.set_text(last.content)
        self.composer.focus_input()
        self.chat.show_notice("Editing your last message: send it to get a new answer.", "info")

    @Slot(str)
    def show_version(self, msg_id: str) -> None:
        """Show the artifact version made by an answer (a click on its card)."""
        version = self.versions.get(msg_id)
        if version is None:
            return
        self.shown = version
        self._render_live(version.artifact, version.html, True)

    def _rebuild_chat(self, skip: str | None = None) -> None:
        """Show the current branch again (after an edit or a regenerate)."""
        self.chat.clear()
        for msg in self.conversation.path():
            if msg.id == skip:
                continue
            if msg.role == "user":
                self.chat.add_user_message(
                    msg.id, display_text(msg.content), [(a.name, a.size) for a in msg.attachments]
                )
                self.flow.add_branch_switches(msg.id)
                continue
            self.chat.begin_assistant_message(msg.id)
            self.chat.append_text(msg.id, msg.content)
            version = self.versions.get(msg.id)
            if version is not None:
                self.chat.set_artifact(msg.id, version.extraction, version.number)
            reason = "interrupted" if msg.id in self._interrupted else msg.finish_reason or "stop"
            self.chat.finish_assistant_message(msg.id, reason, msg.error)
            self.flow.add_branch_switches(msg.id)

    # -- export --------------------------------------------------------------------------

    def current_version(self) -> Version | None:
        """The version in the preview, else the newest one."""
        if self.shown is not None:
            return self.shown
        last = self.conversation.last("assistant")
        return self.versions.get(last.id) if last else None

    @Slot()
    def copy_source(self) -> None:
        """Copy the shown artifact's source to the clipboard."""
        version = self.current_version()
        if version is None:
            self.chat.show_notice("There is no artifact to copy yet.", "info")
            return
        QGuiApplication.clipboard().setText(version.artifact.source)
        self.status.set_note("Source copied")

    @Slot()
    def export_dialog(self) -> QFileDialog | None:
        """Ask where to save the shown artifact as one standalone .html file (window-modal)."""
        version = self.current_version()
        if version is None:
            self.chat.show_notice("There is no artifact to export yet.", "info")
            return None
        dialog = save_dialog(self, version.artifact.title, self.native_dialogs)
        dialog.fileSelected.connect(self.export_to)
        dialog.open()
        return dialog

    @Slot(str)
    def export_to(self, path: str) -> bool:
        """Write the shown artifact, with the conversation's data files inlined, to ``path``."""
        version = self.current_version()
        if version is None:
            return False
        files = {a.name: (a.mime, a.data) for a in self.conversation.attachments()}
        error = write_export(path, version.html, files)
        if error:
            self.chat.show_notice(error, "error")
            return False
        self.status.set_note(f"Exported {Path(path).name}")
        return True

    def open_conversation(self, cid: str) -> bool:
        """Show a stored conversation (see :meth:`LibraryFlow.open_conversation`)."""
        return self.flow.open_conversation(cid)

    # -- settings ------------------------------------------------------------------------

    @Slot()
    def open_settings_dialog(self) -> SettingsDialog:
        """The Settings dialog (window-modal); saving applies temperature, max tokens and prompt now."""
        return open_settings_dialog(self)

    @Slot(object)
    def apply_settings(self, saved: Settings) -> None:
        """Use saved settings for the next answers (command-line flags of this session still win)."""
        apply_settings(self, saved)
        self.autofix.set_auto_fixes(auto_fix_setting(saved))
        interceptor = artifact_interceptor(self.pane_profile)
        if interceptor is not None:
            interceptor.network_default = saved.allow_network
