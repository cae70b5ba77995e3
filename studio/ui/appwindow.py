""" "Open as App": one artifact alone in a window of its own, with no chat.

The page is the same sandboxed :class:`~studio.web.page.ArtifactPage` (in a
:class:`~studio.web.preview.SandboxView`) on the same profile as the pane, served from the same
origin, so the app keeps the state it stored in the main window. A hang watchdog stops a page that
stops responding; a bar then offers Reload.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWebEngineCore import QWebEngineProfile
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QVBoxLayout, QWidget

from studio import APP_NAME
from studio.core.serving import host_for
from studio.core.standalone import standalone_html
from studio.ui.bridgeui import BridgeBar, BridgeService
from studio.web.bridge import bridge_host
from studio.web.preview import HangWatchdog, SandboxView
from studio.web.unload import BLANK

if TYPE_CHECKING:
    from studio.core.serving import ArtifactServer
    from studio.store.records import ArtifactVersion

log = logging.getLogger(__name__)


class AppWindow(QMainWindow):
    """A window showing one artifact version as an app.

    Args:
        server: serves the page (under the artifact's own origin).
        profile: the sandboxed artifact profile.
        artifact_id: the artifact (its origin: the state it stored).
        title: the window title.
        html: the complete page.
        parent: a parent window (the app window stays a window of its own).

    Signals:
        loaded(bool): the page finished loading (ok or not).
        hung(): the page stopped responding and was stopped.
    """

    loaded = Signal(bool)
    hung = Signal()

    def __init__(
        self,
        server: ArtifactServer,
        profile: QWebEngineProfile,
        artifact_id: str,
        title: str,
        html: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"{title or 'Artifact'} — {APP_NAME}")
        self.setObjectName("appWindow")
        self.server, self.artifact_id, self.html = server, artifact_id, html
        self.view = SandboxView(profile, self)
        self.page = self.view.artifact_page
        self.watchdog = HangWatchdog(self.page)
        self.watchdog.hung.connect(self._hung)
        self.page.loadFinished.connect(self.loaded.emit)
        self.hung_bar = QWidget()
        self.hung_bar.setObjectName("hungBar")
        bar = QHBoxLayout(self.hung_bar)
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(QLabel("The artifact stopped responding and was stopped."), 1)
        again = QPushButton("Reload")
        again.clicked.connect(self.reload)
        bar.addWidget(again)
        self.hung_bar.hide()
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.hung_bar)
        if isinstance(service := bridge_host(profile), BridgeService):  # window.studio's question and Stop
            box.addWidget(BridgeBar(service, body, only=host_for(artifact_id)))
        box.addWidget(self.view, 1)
        self.setCentralWidget(body)
        for text, keys, slot in (("Reload", QKeySequence.StandardKey.Refresh, self.reload),
                                 ("Close", QKeySequence.StandardKey.Close, self.close)):  # fmt: skip
            action = QAction(text, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            self.addAction(action)
        self.resize(900, 640)
        self.reload()

    @classmethod
    def for_version(
        cls,
        server: ArtifactServer,
        profile: QWebEngineProfile,
        version: ArtifactVersion,
        parent: QWidget | None = None,
    ) -> AppWindow:
        """An app window for a stored version (its standalone page)."""
        html = standalone_html(version.to_artifact())
        return cls(server, profile, version.artifact_id, version.title, html, parent)

    def reload(self) -> None:
        """Load the page again (also the way back from a stopped one)."""
        self.hung_bar.hide()
        url = self.server.put_page(self.artifact_id, self.html)
        self.page.load(QUrl(url))
        self.watchdog.start()

    def _hung(self) -> None:
        log.warning("the app window's artifact %s stopped responding", self.artifact_id)
        self.hung_bar.show()
        self.hung.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.watchdog.stop()
        self.page.load(BLANK)  # end its scripts and sounds now; the page goes with the window
        super().closeEvent(event)


__all__ = ["AppWindow"]
