"""Files handed to the app: command-line paths and macOS QFileOpenEvent.

Opening files with the app (double-click, "Open With", dropping them on its icon) starts a new chat:
an ``.html`` file (an exported artifact) is shown in the preview, every other file is attached to
the composer. On macOS the paths arrive as ``QFileOpenEvent`` on the QApplication (possibly before
the window exists: :class:`StudioApplication` takes them); elsewhere they arrive as command-line
arguments (``artifacts-studio FILE...``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from studio.ui.mainwindow import MainWindow

log = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm")
MAX_PREVIEW_BYTES = 50 * 1024 * 1024


@dataclass
class OpenRequest:
    """What to do with a batch of opened paths."""

    pages: list[Path] = field(default_factory=list)  # shown in the preview
    attachments: list[Path] = field(default_factory=list)  # attached to the new chat
    missing: list[str] = field(default_factory=list)  # not a readable file


def classify(paths: Iterable[str | Path]) -> OpenRequest:
    """Sort opened paths into preview pages, attachments and ones that are not files."""
    req = OpenRequest()
    for raw in paths:
        text = str(raw)
        if text.startswith("file://"):  # some launchers pass URLs despite %F
            from urllib.parse import unquote, urlparse

            text = unquote(urlparse(text).path)
        p = Path(text).expanduser()
        if not p.is_file():
            req.missing.append(str(raw))
        elif p.suffix.lower() in HTML_SUFFIXES:
            req.pages.append(p.resolve())
        else:
            req.attachments.append(p.resolve())
    return req


def open_paths(window: MainWindow, paths: Iterable[str | Path]) -> OpenRequest:
    """Start a new chat with the given files: pages in the preview, the rest attached.

    Args:
        window: the studio window.
        paths: file paths (or file:// URLs).

    Returns:
        How the paths were sorted.
    """
    req = classify(paths)
    if not (req.pages or req.attachments or req.missing):
        return req
    window.new_chat()
    for missing in req.missing:
        window.chat.show_notice(f"Cannot open {missing}: not a file.", "error")
    if req.attachments:
        window.composer.add_files([str(p) for p in req.attachments])
    for page in req.pages[-1:]:  # one preview: the last page wins
        try:
            if page.stat().st_size > MAX_PREVIEW_BYTES:
                raise OSError("larger than 50 MB")
            html = page.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            window.chat.show_notice(f"Cannot open {page.name}: {e}", "error")
            continue
        window.pane.show_artifact(window.artifact_id, html, title=page.stem, kind="html", final=True)
        window.chat.show_notice(f"Opened {page.name} in the preview.", "info")
    window.raise_()
    window.activateWindow()
    return req


class FileOpener(QObject):
    """Opens paths handed to the app in a window: FileOpen events and command-line paths.

    Paths that arrive together (several files opened at once) make one chat; paths that arrive
    before :meth:`set_window` wait for it.

    Args:
        parent: usually the QApplication.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window: MainWindow | None = None
        self.pending: list[str] = []
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(50)
        self._flush.timeout.connect(self.flush)

    def set_window(self, window: MainWindow) -> None:
        """Deliver to ``window`` from now on (and what arrived before it)."""
        self.window = window
        if self.pending:
            self._flush.start()

    def add(self, paths: Iterable[str]) -> None:
        """Queue paths; they open together once the event loop runs and a window is set."""
        self.pending.extend(paths)
        if self.window is not None and self.pending:
            self._flush.start()

    def handle(self, event: QEvent) -> bool:
        """Take a ``QFileOpenEvent``'s path; returns True when the event was one."""
        if event.type() != QEvent.Type.FileOpen:
            return False
        path = event.file() or event.url().toLocalFile()  # type: ignore[attr-defined]
        if path:
            self.add([path])
        return True

    def flush(self) -> None:
        """Open what has been collected in the window."""
        if self.window is None or not self.pending:
            return
        paths, self.pending = self.pending, []
        open_paths(self.window, paths)


class StudioApplication(QApplication):
    """The QApplication, handing macOS FileOpen events to its :class:`FileOpener`.

    Overriding ``event`` sees only the application's own events; an application-wide Python
    event filter would see every event of every object and crashes PySide6 6.12 with QtWebEngine.
    """

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.opener = FileOpener(self)

    def event(self, e: QEvent) -> bool:
        """FileOpen events go to the opener; the rest to QApplication."""
        if e.type() == QEvent.Type.FileOpen:
            return self.opener.handle(e)
        return super().event(e)


def install(app: QObject, window: MainWindow, argv_paths: Iterable[str] = ()) -> FileOpener:
    """Open the command-line paths (and, on a StudioApplication, FileOpen events) in ``window``."""
    opener = getattr(app, "opener", None)
    if not isinstance(opener, FileOpener):
        opener = FileOpener(app)
    opener.add(argv_paths)
    opener.set_window(window)
    return opener
