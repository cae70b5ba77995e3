"""The artifact page: console capture, navigation and new-window policy, contained dialogs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEnginePermission, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QMessageBox, QWidget

from studio.core.serving import SCHEME
from studio.web.bridge import BridgeEndpoint

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

# Reports connection hints: below the page Chromium makes no bare connection for them (the network
# gate), so the console is the only place such an attempt can be named.
HINTS_JS = """
(() => {
  const seen = new WeakSet();
  const look = (el) => {
    if (el.nodeName !== "LINK" || seen.has(el)) return;
    const rel = (el.getAttribute("rel") || "").toLowerCase().split(/\\s+/);
    const hint = rel.find(r => r === "preconnect" || r === "dns-prefetch");
    if (!hint) return;
    seen.add(el);
    const href = String(el.getAttribute("href") || "");
    if (/^(https?:)?\\/\\//i.test(href)) console.warn("blocked " + hint + " to " + href + " (no bare connections)");
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      look(n);
      if (n.querySelectorAll) for (const el of n.querySelectorAll("link")) look(el);
    }
  }).observe(document, {childList: true, subtree: true});
})();
"""

# A link may leave the preview only this soon after a real click or key press in the view.
USER_GESTURE_S = 1.5

# Console bounds, per render (each load of the page starts a new count).
MAX_MESSAGE_CHARS = 2048  # one entry's message is cut to this
MAX_ENTRIES = 300  # entries kept per render; the rest are only counted
RATE_PER_S = 100.0  # entries per second after a burst of as many ...
RATE_BURST = 100.0  # ... (a token bucket); the rest are only counted
DROPPED_EVERY_MS = 500  # the count of dropped entries is signalled at most this often
# What QtWebEngine asks javaScriptConfirm() for a beforeunload handler (qtwebengine webenginepage.cpp).
_UNLOAD_TEXT = "Are you sure you want to leave this page? Changes that you made may not be saved."

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
    """One console-strip entry (message and source cut to :data:`MAX_MESSAGE_CHARS`)."""
    return {
        "level": level,
        "message": clip(message),
        "line": line,
        "source": clip(source),
        "time": time.time(),
    }


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def dropped_text(n: int) -> str:
    """The one line that stands for messages dropped by the console bounds."""
    return f"{n} more message{'s' if n != 1 else ''} dropped (too many console messages)"


def update_summary(entries: list[dict], dropped: int) -> bool:
    """Rewrite the one "N more messages dropped" entry in ``entries`` to say ``dropped``.

    Returns:
        True when there was such an entry.
    """
    for item in reversed(entries):
        if "dropped" in item:
            item["dropped"] = dropped
            item["message"] = dropped_text(dropped)
            return True
    return False


class ConsoleBudget:
    """Decides which console entries of one render are kept: a cap and a token-bucket rate limit.

    Dropped entries are counted into ONE summary entry, emitted with the first drop; receivers get
    copies, so the page also signals the growing count (``consoleDropped``) for them to update it.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """A new render: counts start again."""
        self.kept = 0
        self.dropped = 0
        self.summary: dict | None = None
        self._tokens = RATE_BURST
        self._at = self._clock()

    def admit(self) -> bool:
        """Whether the next entry may be kept (False: it is counted as dropped)."""
        now = self._clock()
        self._tokens = min(RATE_BURST, self._tokens + (now - self._at) * RATE_PER_S)
        self._at = now
        if self.kept < MAX_ENTRIES and self._tokens >= 1:
            self._tokens -= 1
            self.kept += 1
            return True
        self.dropped += 1
        return False

    def note_drop(self, source: str) -> dict | None:
        """Update the summary entry; returns it the first time (to be emitted), else None."""
        if self.summary is not None:
            self.summary["message"] = dropped_text(self.dropped)
            self.summary["dropped"] = self.dropped
            return None
        self.summary = entry("warning", dropped_text(self.dropped), 0, source)
        self.summary["dropped"] = self.dropped
        return self.summary


class ArtifactPage(QWebEnginePage):
    """A page that keeps an untrusted artifact in its box.

    Signals:
        consoleMessage(dict): {level, message, line, source} for console output, uncaught
            errors, contained dialogs, denied permissions and blocked navigations. Bounded per
            render (:class:`ConsoleBudget`); the one summary entry of dropped ones has ``dropped``.
        consoleDropped(int): the number of entries dropped so far in this render (at most
            every DROPPED_EVERY_MS; see :func:`update_summary`).
        linkRequested(QUrl): the user clicked a link out of the artifact.
    """

    consoleMessage = Signal(dict)
    consoleDropped = Signal(int)
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
        self.console_budget = ConsoleBudget()
        self.loadStarted.connect(self.console_budget.reset)
        self._dropped_timer = QTimer(self, singleShot=True, interval=DROPPED_EVERY_MS)
        self._dropped_timer.timeout.connect(lambda: self.consoleDropped.emit(self.console_budget.dropped))
        self.permissionRequested.connect(self._deny_permission)
        self.fileSystemAccessRequested.connect(lambda req: req.reject())
        self.fullScreenRequested.connect(lambda req: req.reject())
        self.registerProtocolHandlerRequested.connect(lambda req: req.reject())
        self.desktopMediaRequested.connect(lambda req: req.cancel())
        self.windowCloseRequested.connect(lambda: self._note("warning", "window.close() ignored"))
        # window.studio's channel to the model; the profile's bridge host answers (web/bridge.py).
        self.bridge = BridgeEndpoint(self, profile)

    def note_user_input(self) -> None:
        """Record a real click/key in the view: only then may a link ask to open outside."""
        self._input_at = time.monotonic()

    # -- console --------------------------------------------------------------------------
    def javaScriptConsoleMessage(
        self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str, line: int, source: str
    ) -> None:
        """Forward console output and uncaught errors as entries (bounded: see ConsoleBudget)."""
        self._emit(entry(_LEVELS.get(level, "info"), message, line, source))

    def _note(self, level: str, message: str) -> None:
        self._emit(entry(level, message, 0, self.url().toString()))

    def note(self, level: str, message: str, source: str = "") -> None:
        """Add an entry of the app's own (a blocked request) under the same bounds."""
        self._emit(entry(level, message, 0, source))

    def _emit(self, item: dict) -> None:
        budget = self.console_budget
        if budget.admit():
            self.consoleMessage.emit(item)
        elif (summary := budget.note_drop(item["source"])) is not None:
            self.consoleMessage.emit(summary)
            self._dropped_timer.start()
        elif not self._dropped_timer.isActive():
            self._dropped_timer.start()

    # -- dialogs: logged, never modal ------------------------------------------------------
    def javaScriptAlert(self, origin: QUrl | str, msg: str) -> None:
        """alert(): logged to the console strip instead of a modal dialog."""
        self._note("info", f"alert(): {msg}")

    def javaScriptConfirm(self, origin: QUrl | str, msg: str) -> bool:
        """confirm(): logged; answers Cancel. A beforeunload prompt is answered Leave."""
        if msg == QCoreApplication.translate("QWebEnginePage", _UNLOAD_TEXT):
            # Qt routes the beforeunload prompt here; "stay" would pin the page forever.
            self._note("info", "beforeunload prompt answered Leave")
            return True
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
        if app_load and is_main_frame and scheme in (SCHEME, "about"):
            return True  # the app's own load()/reload() (about:blank to unload)
        if scheme in _INNER_SCHEMES and self._inner_ok(url, scheme, is_main_frame):
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

    def _inner_ok(self, url: QUrl, scheme: str, is_main_frame: bool) -> bool:
        """An artifact stays in its own origin: no hop through data:/blob: to another artifact.

        The main frame may only move within its artifact's host; a frame may hold in-page content
        (data:, blob:, about:) or its own artifact's pages, never another artifact's (or its reset page).
        """
        here = self.url()
        own = here.host() if here.scheme() == SCHEME else ""
        if scheme == SCHEME:
            return bool(own) and url.host() == own
        return not is_main_frame  # data:/blob:/about: in a frame; a top-level one would leave the origin

    def createWindow(self, window_type: QWebEnginePage.WebWindowType) -> QWebEnginePage:
        """No popups, ever."""
        self._note("warning", "popup window blocked")
        return None  # type: ignore[return-value]  # Qt: null means "no window"

    def _deny_permission(self, permission: QWebEnginePermission) -> None:
        kind = permission.permissionType().name
        permission.deny()
        self._note("warning", f"permission denied: {kind}")
