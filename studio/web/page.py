"""The artifact page: console capture, navigation and new-window policy, contained dialogs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEnginePermission, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QMessageBox, QWidget

from studio.core.serving import SCHEME

log = logging.getLogger(__name__)

_LEVELS = {
    QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel: "info",
    QWebEnginePage.JavaScriptConsoleMessageLevel.WarningMessageLevel: "warning",
    QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel: "error",
}
_EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})
_INNER_SCHEMES = frozenset({SCHEME, "about", "blob", "data"})

# Reports uncaught promise rejections as console errors (plain uncaught errors already are).
UNHANDLED_REJECTION_JS = """
window.addEventListener("unhandledrejection", (e) => {
  const r = e.reason;
  console.error("Uncaught (in promise) " + (r && r.stack ? r.stack : String(r)));
});
"""

# A link may leave the preview only this soon after a real click or key press in the view.
USER_GESTURE_S = 1.5

LinkConfirm = Callable[[QUrl, QWidget | None], bool]
LinkOpener = Callable[[QUrl], object]


def ask_open_link(url: QUrl, parent: QWidget | None) -> bool:
    """The default confirm: ask before opening an artifact's link in the system browser."""
    answer = QMessageBox.question(
        parent,
        "Open link?",
        f"The artifact wants to open\n\n{url.toString()}\n\nin your web browser. Open it?",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Open


def entry(level: str, message: str, line: int = 0, source: str = "") -> dict:
    """One console-strip entry."""
    return {"level": level, "message": message, "line": line, "source": source, "time": time.time()}


class ArtifactPage(QWebEnginePage):
    """A page that keeps an untrusted artifact in its box.

    Signals:
        consoleMessage(dict): {level, message, line, source} for console output, uncaught
            errors, contained dialogs, denied permissions and blocked navigations.
        linkRequested(QUrl): the user clicked a link out of the artifact.
    """

    consoleMessage = Signal(dict)
    linkRequested = Signal(QUrl)

    def __init__(
        self,
        profile: QWebEngineProfile,
        parent: QObject | None = None,
        *,
        confirm_link: LinkConfirm | None = None,
        open_link: LinkOpener | None = None,
    ) -> None:
        super().__init__(profile, parent)
        self.confirm_link: LinkConfirm = confirm_link or ask_open_link
        self.open_link: LinkOpener = open_link or QDesktopServices.openUrl
        self._input_at = 0.0
        self._asking = False
        self.permissionRequested.connect(self._deny_permission)
        self.fileSystemAccessRequested.connect(lambda req: req.reject())
        self.fullScreenRequested.connect(lambda req: req.reject())
        self.registerProtocolHandlerRequested.connect(lambda req: req.reject())
        self.desktopMediaRequested.connect(lambda req: req.cancel())
        self.windowCloseRequested.connect(lambda: self._note("warning", "window.close() ignored"))

    def note_user_input(self) -> None:
        """Record a real click/key in the view: only then may a link ask to open outside."""
        self._input_at = time.monotonic()

    # -- console --------------------------------------------------------------------------
    def javaScriptConsoleMessage(
        self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str, line: int, source: str
    ) -> None:
        """Forward console output and uncaught errors as entries."""
        self.consoleMessage.emit(entry(_LEVELS.get(level, "info"), message, line, source))

    def _note(self, level: str, message: str) -> None:
        self.consoleMessage.emit(entry(level, message, 0, self.url().toString()))

    # -- dialogs: logged, never modal ------------------------------------------------------
    def javaScriptAlert(self, origin: QUrl | str, msg: str) -> None:
        """alert(): logged to the console strip instead of a modal dialog."""
        self._note("info", f"alert(): {msg}")

    def javaScriptConfirm(self, origin: QUrl | str, msg: str) -> bool:
        """confirm(): logged; answers Cancel."""
        self._note("info", f"confirm() answered Cancel: {msg}")
        return False

    def javaScriptPrompt(self, origin: QUrl | str, msg: str, default: str) -> tuple[bool, str]:
        """prompt(): logged; answers Cancel."""
        self._note("info", f"prompt() answered Cancel: {msg}")
        return False, ""

    # -- navigation, windows, permissions -------------------------------------------------
    def acceptNavigationRequest(
        self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        """Stay inside the artifact; a clicked outside link goes to the browser after a confirm."""
        url = QUrl(url)
        scheme = url.scheme().lower()
        app_load = nav_type in (
            QWebEnginePage.NavigationType.NavigationTypeTyped,
            QWebEnginePage.NavigationType.NavigationTypeReload,
        )
        if scheme == SCHEME and app_load and is_main_frame:
            return True  # the app's own load()/reload()
        if scheme in _INNER_SCHEMES:
            here = self.url()
            if scheme != SCHEME or not is_main_frame or here.isEmpty() or here.scheme() != SCHEME:
                return True
            if url.host() == here.host():
                return True
        link = nav_type == QWebEnginePage.NavigationType.NavigationTypeLinkClicked
        clicked = time.monotonic() - self._input_at < USER_GESTURE_S
        if link and clicked and scheme in _EXTERNAL_SCHEMES and not self._asking:
            self._input_at = 0.0  # one click, one question
            self._note("info", f"link to {url.toString()} kept out of the preview")
            self.linkRequested.emit(url)
            view = QWebEngineView.forPage(self)
            self._asking = True
            try:
                ok = self.confirm_link(url, view if isinstance(view, QWidget) else None)
            finally:
                self._asking = False
            if ok:
                self.open_link(url)
            return False
        self._note("warning", f"navigation to {url.toString()} blocked")
        return False

    def createWindow(self, window_type: QWebEnginePage.WebWindowType) -> QWebEnginePage:
        """No popups, ever."""
        self._note("warning", "popup window blocked")
        return None  # type: ignore[return-value]  # Qt: null means "no window"

    def _deny_permission(self, permission: QWebEnginePermission) -> None:
        kind = permission.permissionType().name
        permission.deny()
        self._note("warning", f"permission denied: {kind}")
