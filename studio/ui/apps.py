"""The window's artifacts-as-apps commands: the Gallery, "Open as App" and "Save as App".

:class:`AppsFlow` keeps the gallery and the app windows of one main window (they are its child
windows, so they go before the web profile does) and writes launchers through
:mod:`studio.core.launcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Slot

from studio.store.paths import DB_NAME, launcher_dir

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEngineProfile
    from PySide6.QtWidgets import QMainWindow

    from studio.core.serving import ArtifactServer
    from studio.core.session import ChatSession
    from studio.ui.appwindow import AppWindow
    from studio.ui.gallery import GalleryWindow
    from studio.ui.statusbar import StudioStatusBar
    from studio.ui.storebridge import StoreBridge

log = logging.getLogger(__name__)

NOTHING_SHOWN = "No artifact to open yet: ask for one, or pick one in the Gallery."
NOT_STORED = "Save as App needs an artifact kept in the library (this session keeps nothing)."


class AppsFlow(QObject):
    """Gallery, Open as App and Save as App for one main window.

    Args:
        window: the main window (parent of the gallery and the app windows).
        session: the chat on screen (its artifact is the one "Open as App" opens).
        store: the library (None: only what is on screen can open as an app).
        server, profile: serve and render the app windows' pages (the pane's own).
        status: where the outcome is told.
        open_conversation: shows a conversation in the main window (a gallery item was opened).
    """

    def __init__(
        self,
        window: QMainWindow,
        session: ChatSession,
        store: StoreBridge | None,
        server: ArtifactServer,
        profile: QWebEngineProfile,
        status: StudioStatusBar,
        open_conversation: Callable[[str], object],
    ) -> None:
        super().__init__(window)
        self.window, self.s, self.store = window, session, store
        self.server, self.profile, self.status = server, profile, status
        self._open_conversation = open_conversation
        self.gallery: GalleryWindow | None = None
        self.app_windows: list[AppWindow] = []

    @Slot()
    def open_gallery(self) -> GalleryWindow | None:
        """File > Gallery: show (or raise) the gallery window; None without a library."""
        if self.store is None:
            self.status.set_note("The Gallery needs the library (this session keeps nothing).")
            return None
        if self.gallery is None or not shiboken6.isValid(self.gallery):
            # loaded when first opened, not before the first frame
            from studio.ui.gallery import GalleryWindow

            self.gallery = GalleryWindow(self.store.writer, self.window)
            self.gallery.conversationRequested.connect(self._open_chat)
            self.gallery.appRequested.connect(self.open_as_app)
        self.gallery.show()
        self.gallery.raise_()
        self.gallery.activateWindow()
        return self.gallery

    @Slot()
    def refresh_gallery(self, *_: object) -> None:
        """Read the library again when the gallery is open (a new version, a new thumbnail)."""
        if self.gallery is not None and shiboken6.isValid(self.gallery) and self.gallery.isVisible():
            self.gallery.refresh()

    def _open_chat(self, cid: str) -> None:
        self._open_conversation(cid)
        self.window.raise_()
        self.window.activateWindow()

    @Slot()
    def open_current_as_app(self) -> AppWindow | None:
        """File > Open as App: the artifact on screen in a window of its own."""
        from studio.ui.appwindow import AppWindow

        shown = self.s.shown
        if shown is not None and shown.extraction.artifact is not None:
            return self._show(AppWindow(self.server, self.profile, self.s.artifact_id, shown.artifact.title,
                                        shown.html, self.window))  # fmt: skip
        if self.store is not None and (version := self.store.current_version(self.s.artifact_id)) is not None:
            return self._show(AppWindow.for_version(self.server, self.profile, version, self.window))
        self.status.set_note(NOTHING_SHOWN)
        return None

    @Slot(str)
    def open_as_app(self, artifact_id: str) -> AppWindow | None:
        """A stored artifact's current version in a window of its own (from the gallery)."""
        from studio.ui.appwindow import AppWindow

        version = self.store.current_version(artifact_id) if self.store is not None else None
        if version is None:
            self.status.set_note("That artifact no longer exists.")
            return None
        return self._show(AppWindow.for_version(self.server, self.profile, version, self.window))

    def _show(self, app: AppWindow) -> AppWindow:
        self.app_windows = [w for w in self.app_windows if shiboken6.isValid(w)] + [app]
        app.show()
        app.raise_()
        return app

    @Slot()
    def save_as_app(self) -> Path | None:
        """File > Save as App: a launcher (.desktop entry / macOS app stub) for the artifact on screen."""
        if self.store is None:
            self.status.set_note(NOT_STORED)
            return None
        version = self.store.current_version(self.s.artifact_id)
        if version is None:
            self.status.set_note(NOTHING_SHOWN if self.s.shown is None else NOT_STORED)
            return None
        lib_path = self.store.library.path
        data_dir = lib_path.parent if lib_path.name == DB_NAME else None
        from studio.core.launcher import write_launcher

        try:
            path = write_launcher(version.artifact_id, version.title, launcher_dir(), data_dir=data_dir)
        except OSError as exc:
            self.status.set_note(f"Could not save the app: {exc.strerror or exc}")
            return None
        log.info("saved a launcher for %s at %s", version.artifact_id, path)
        self.status.set_note(f"Saved “{version.title}” as an app: {path}")
        return path


__all__ = ["AppsFlow"]
