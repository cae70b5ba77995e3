"""The studio window: the chat (and composer) beside a live, sandboxed artifact preview.

Data flows one way: composer -> :class:`~studio.core.session.ChatSession` -> the
:class:`~studio.ui.answerrunner.AnswerRunner` (its controller streams on a worker thread) -> batched
deltas -> chat view and live preview -> artifact pane. The window builds the widgets and the helpers
(library flow, auto-fix, model switcher) around the session and the runner, and wires them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Slot
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWebEngineCore import QWebEngineProfile
from PySide6.QtWidgets import QMainWindow, QWidget

from studio import APP_NAME
from studio.core.conversation import Conversation
from studio.core.serving import ArtifactServer
from studio.core.session import ChatSession
from studio.engine.base import GenerationParams
from studio.store.library import Library
from studio.store.settings import Settings, SettingsState
from studio.store.writer import LibraryWriter
from studio.ui import theme
from studio.ui.answerrunner import AnswerRunner
from studio.ui.apps import AppsFlow
from studio.ui.artifactpane import ArtifactPane
from studio.ui.autofix import AutoFixer, auto_fix_setting
from studio.ui.bridgeui import install_bridge
from studio.ui.chatview import ChatView
from studio.ui.compare import CompareView, open_compare
from studio.ui.composer import Composer
from studio.ui.exportdialog import ArtifactExport
from studio.ui.generation import GenerationController
from studio.ui.layout import chat_and_pane, with_sidebar
from studio.ui.menus import build_menus
from studio.ui.modelswitch import ModelSwitcher, model_label
from studio.ui.settings import open_settings, restore_window, save_window
from studio.ui.settingsdialog import SettingsDialog, apply_settings, open_settings_dialog
from studio.ui.sidebar import Sidebar
from studio.ui.statusbar import StudioStatusBar
from studio.ui.storebridge import StoreBridge
from studio.ui.thumbnails import ThumbnailTaker
from studio.ui.turns import NO_MODEL_HINT, ChatTurns
from studio.ui.windowlibrary import LibraryFlow
from studio.web.profile import artifact_interceptor

if TYPE_CHECKING:
    from studio.core.attachments import Attachment

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Sidebar | chat | artifact splitter, menus, shortcuts and the status bar.

    Args:
        server: serves artifact pages and attachment data by URL.
        profile: the sandboxed web profile the preview renders in.
        controller: runs the engine; None when no model was given (the welcome view offers one).
        params: sampling parameters for every answer.
        settings: window geometry and splitter state (default: ``window.ini`` in the config folder).
        system_prompt: the system turn (default: :func:`studio.core.prompts.default_prompt`).
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
        self.setWindowTitle(APP_NAME)
        self.server, self.pane_profile = server, profile
        self.settings = settings or open_settings()
        self.prefs = SettingsState(app_settings or Settings(), settings_file, dict(overridden or {}))
        self.session = s = ChatSession()
        self.store = StoreBridge(library, writer) if library is not None else None
        self._closed = False
        self.chat, self.composer, self.pane = ChatView(), Composer(), ArtifactPane(profile, server)
        chat, pane = self.chat, self.pane
        self.status = status = StudioStatusBar(self)
        self.setStatusBar(status)
        self.sidebar = Sidebar(library) if library is not None else None
        self.runner = AnswerRunner(s, pane, controller, self)
        self.flow = LibraryFlow(
            s, self.runner, self.store, server, chat=chat, pane=pane, sidebar=self.sidebar, status=status, parent=self
        )  # fmt: skip
        self.turns = ChatTurns(
            s, self.runner, self.flow, self.store, server, chat=chat, composer=self.composer, status=status,
            params=params, system_prompt=system_prompt, parent=self,
        )  # fmt: skip
        self.exporter = ArtifactExport(s, chat, status, self, native_dialogs)
        self.exporter.network_on = lambda: self.pane.network_toggle.isChecked()
        self.splitter = chat_and_pane(chat, self.composer, pane)
        self.models = ModelSwitcher(
            self.runner, self.prefs, self.splitter, chat=chat, status=status, parent=self, native_dialogs=native_dialogs
        )  # fmt: skip
        self.outer = with_sidebar(self.sidebar, self.models.stack) if self.sidebar is not None else None
        self.setCentralWidget(self.outer or self.models.stack)
        self.bridge = install_bridge(self.runner, pane, self.prefs, profile, self)  # window.studio
        self.autofix = AutoFixer(
            s, self.runner, pane, self.composer, auto_fix_setting(self.prefs.saved), self
        )
        self.thumbnails = ThumbnailTaker(self.pane, s, self.store, self) if self.store is not None else None
        self.apps = AppsFlow(self, s, self.store, server, profile, status, self.open_conversation)
        if self.thumbnails is not None:
            self.thumbnails.thumbnailSaved.connect(self.apps.refresh_gallery)
        self.menu_actions = build_menus(self, self._handlers())
        self._connect()
        restore_window(self.settings, self, self.splitter)
        status.set_model(model_label(controller))
        if controller is None:
            chat.show_notice(NO_MODEL_HINT, "info")  # under the welcome view, for when it is left
            self.models.show_welcome()
        else:
            self.models.attach(controller)  # the same wiring as a model chosen later
        if self.store is not None:
            self.flow.open_most_recent()

    # -- building ------------------------------------------------------------------------

    def _handlers(self) -> dict[str, Any]:
        t, x = self.turns, self.exporter
        return {
            "new": self.new_chat, "export": x.export_dialog, "settings": self.open_settings_dialog,
            "quit": self.close, "copy": x.copy_source, "edit": t.edit_last, "focus": self.composer.focus_input,
            "model": self.models.open_picker, "regen": t.regenerate, "stop": self.stop, "about": self.show_about,
            "gallery": self.apps.open_gallery, "open_app": self.apps.open_current_as_app, "save_app": self.apps.save_as_app,
        }  # fmt: skip

    def _connect(self) -> None:
        c, r, f, m, t = self.composer, self.runner, self.flow, self.models, self.turns
        c.sendRequested.connect(t.send)
        c.stopRequested.connect(self.stop)
        c.attachmentRefused.connect(lambda reason: self.chat.show_notice(reason, "error"))
        self.chat.filesDropped.connect(c.add_files)
        self.chat.artifactActivated.connect(t.show_version)
        self.chat.branchRequested.connect(f.switch_branch)
        self.pane.versionRequested.connect(f.show_version_number)
        self.pane.restoreRequested.connect(f.restore_version)
        self.pane.runRequested.connect(f.run_edit)
        self.pane.compareRequested.connect(self.open_compare)
        self.pane.rendered.connect(m.leave_welcome)  # content on screen leaves the welcome view
        self.pane.rendered.connect(f.on_rendered)
        f.titleChanged.connect(self.setWindowTitle)
        f.conversationGone.connect(self.new_chat)
        if self.sidebar is not None:
            self.sidebar.conversationSelected.connect(m.leave_welcome)
            self.sidebar.conversationSelected.connect(f.open_conversation)
            self.sidebar.newChatRequested.connect(self.new_chat)
            self.sidebar.conversationDeleted.connect(f.on_conversation_deleted)
        m.welcomeClosed.connect(c.focus_input)
        self.autofix.sendRequested.connect(t.send)
        t.busyChanged.connect(c.set_busy)
        t.busyChanged.connect(self.menu_actions.stop.setEnabled)
        r.answerDelta.connect(self.chat.append_text)
        r.previewChanged.connect(
            lambda mid, snap: self.chat.set_artifact(mid, snap, self.session.versions.number_for(mid))
        )
        r.answerProgress.connect(lambda mid, chunk: self.status.set_stats(chunk, final=False))

    # -- what the tests and the app reach ------------------------------------------------

    @property
    def controller(self) -> GenerationController | None:
        return self.runner.controller

    @property
    def conversation(self) -> Conversation:
        return self.session.conversation

    @property
    def busy(self) -> bool:
        return self.session.busy

    @property
    def artifact_id(self) -> str:
        return self.session.artifact_id

    @Slot()
    def show_about(self) -> Any:
        """Help > About: the app's name, version and icon (a non-modal box, returned)."""
        from studio.about import about_box

        return about_box(self)

    # -- window state --------------------------------------------------------------------

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
        save_window(self.settings, self, self.splitter)
        self.bridge.close()
        self.models.shutdown()
        if self.controller is not None:
            self.controller.shutdown()
        self.flow.finish_recorder("cancelled", None, {})
        if self.store is not None:
            self.store.close()

    # -- commands ------------------------------------------------------------------------

    @Slot(str, list)
    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> None:
        """Send a user turn (see :meth:`ChatTurns.send`)."""
        self.turns.send(text, attachments)

    @Slot()
    def stop(self) -> None:
        """Stop the answer in flight (it ends as "cancelled"; the preview keeps its last frame)."""
        self.runner.stop()

    @Slot()
    def new_chat(self) -> None:
        """Start an empty conversation (stops any answer in flight); it is stored at its first message."""
        self.flow.new_conversation()
        self.composer.set_text("")
        self.composer.focus_input()

    @Slot(str)
    def open_conversation(self, cid: str) -> bool:
        """Show a stored conversation (as a click in the sidebar does)."""
        self.models.leave_welcome()
        return self.flow.open_conversation(cid)

    @Slot()
    def open_compare(self) -> CompareView | None:
        """Two versions of the artifact side by side with their diff (None with fewer than two)."""
        return open_compare(
            self, self.pane_profile, self.server, self.artifact_id, self.flow.stored, self.flow.current_number
        )

    @Slot()
    def open_settings_dialog(self) -> SettingsDialog:
        """The Settings dialog (window-modal); saving applies temperature, max tokens and prompt now."""
        dialog = open_settings_dialog(self.prefs, self)
        dialog.saved.connect(self.apply_settings)
        return dialog

    @Slot(object)
    def apply_settings(self, saved: Settings) -> None:
        """Use saved settings for the next answers (command-line flags of this session still win)."""
        self.turns.params, self.turns.system_prompt = apply_settings(self.prefs, saved, self.turns.params)
        self.status.set_note("Settings saved (model and engine apply at the next start)")
        self.autofix.set_auto_fixes(auto_fix_setting(saved))
        self.bridge.consent.answers = dict(saved.model_access)
        interceptor = artifact_interceptor(self.pane_profile)
        if interceptor is not None:
            interceptor.network_default = saved.allow_network
        if (themes := theme.manager()) is not None:
            themes.set_mode(theme.mode_from(saved.theme))
