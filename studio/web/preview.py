"""The preview's web pieces: a view that notices real user input, and a hang watchdog."""

from __future__ import annotations

import logging
import os
import signal
import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineScript
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from studio.web.page import ArtifactPage, LinkConfirm, LinkOpener

log = logging.getLogger(__name__)

_INPUT_EVENTS = frozenset(
    {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.KeyPress}
)


class SandboxView(QWebEngineView):
    """A web view on its own :class:`ArtifactPage` that never grabs focus by itself.

    Real clicks and key presses are passed to the page (``note_user_input``) so that only a
    link the user clicked may ask to open in the system browser.
    """

    def __init__(
        self,
        profile: QWebEngineProfile,
        parent: QWidget | None = None,
        *,
        confirm_link: LinkConfirm | None = None,
        open_link: LinkOpener | None = None,
    ) -> None:
        super().__init__(parent)
        self._profile = profile
        self.artifact_page = ArtifactPage(profile, self, confirm_link=confirm_link, open_link=open_link)
        self.setPage(self.artifact_page)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.installEventFilter(self)
        for child in self.findChildren(QWidget):
            child.installEventFilter(self)

    def renew_page(self) -> ArtifactPage:
        """Put a fresh page in the view (the old one is stuck: e.g. a load that never started).

        The old page is deleted later; connect the new page's signals again.

        Returns:
            The new page.
        """
        old = self.artifact_page
        page = ArtifactPage(self.profile(), self, confirm_link=old.confirm_link, open_link=old.open_link)
        self.artifact_page = page
        self.setPage(page)
        old.deleteLater()
        log.info("the preview got a fresh page")
        return page

    def profile(self) -> QWebEngineProfile:
        """The profile the view's pages render in."""
        return self._profile

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Watch the render widget (added as a child later) for real user input."""
        kind = event.type()
        if kind == QEvent.Type.ChildAdded and watched is self:
            child = event.child()  # type: ignore[attr-defined]
            if isinstance(child, QWidget):
                child.installEventFilter(self)
        elif kind in _INPUT_EVENTS:
            self.artifact_page.note_user_input()
        return False


def kill_renderer(page: QWebEnginePage) -> bool:
    """Kill the render process of a page (the only sure stop for an infinite loop).

    Returns:
        True when a process was signalled.
    """
    pid = page.renderProcessPid()
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    except OSError as exc:
        log.warning("could not stop renderer %s: %s", pid, exc)
        return False
    log.warning("stopped unresponsive renderer %s", pid)
    return True


MAX_RENDERER_MB = 1536  # a renderer bigger than this is stopped (an artifact's memory flood)


def renderer_rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


class HangWatchdog(QObject):
    """Pings a page's renderer with a tiny script; no answer in time means it hangs.

    Chromium's own "unresponsive renderer" notice is not exposed by Qt 6.12, so this uses a
    heartbeat in an isolated JS world (the artifact cannot see or block it).

    It also stops a renderer that grows past ``max_mb`` (read from /proc where there is one):
    an artifact that floods its own process with memory is stopped like a hung one.

    Signals:
        hung(): the renderer did not answer within ``timeout_ms``, or grew past ``max_mb``; it has
            been killed when ``kill`` is True (``reason`` says which: "hung" or "memory").
    """

    hung = Signal()

    def __init__(
        self,
        page: QWebEnginePage,
        *,
        interval_ms: int = 500,
        timeout_ms: int = 2500,
        kill: bool = True,
        max_mb: float | None = None,
    ) -> None:
        super().__init__(page)
        self.max_mb = MAX_RENDERER_MB if max_mb is None else max_mb
        self.reason = ""
        self._page = page
        self._timeout_s = timeout_ms / 1000
        self._kill = kill
        self._seq = 0
        self._sent_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Start (or restart) watching."""
        self._seq += 1
        self._sent_at = None
        self._timer.start()
        self._tick()

    def stop(self) -> None:
        """Stop watching (pending answers are ignored)."""
        self._seq += 1
        self._sent_at = None
        self._timer.stop()

    def waiting_s(self) -> float:
        """Seconds the current ping has gone unanswered (0 when none is out)."""
        return 0.0 if self._sent_at is None else time.monotonic() - self._sent_at

    def _tick(self) -> None:
        now = time.monotonic()
        pid = self._page.renderProcessPid()
        if pid > 0 and pid != os.getpid() and (mb := renderer_rss_mb(pid)) > self.max_mb:
            log.warning("renderer %s uses %.0f MB (limit %.0f): stopped", pid, mb, self.max_mb)
            note = getattr(self._page, "note", None)
            if callable(note):
                note("error", f"the page used {mb:.0f} MB of memory and was stopped")
            self._fire("memory")
            return
        if self._sent_at is not None:
            if now - self._sent_at > self._timeout_s:
                self._fire("hung")
            return
        self._sent_at = now
        seq = self._seq
        self._page.runJavaScript(
            "1", QWebEngineScript.ScriptWorldId.ApplicationWorld, lambda _result, s=seq: self._answer(s)
        )

    def _fire(self, reason: str) -> None:
        self.reason = reason
        self.stop()
        if self._kill:
            kill_renderer(self._page)
        self.hung.emit()

    def _answer(self, seq: int) -> None:
        if seq == self._seq:
            self._sent_at = None
