"""Export HTML and Copy Source: the save dialog, writing one standalone file, the clipboard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

if TYPE_CHECKING:
    from studio.core.livepreview import Version
    from studio.core.session import ChatSession
    from studio.ui.chatview import ChatView
    from studio.ui.statusbar import StudioStatusBar


def file_name(title: str) -> str:
    """A safe default file name for an artifact title."""
    stem = "".join(c if c.isalnum() or c in "-_ " else "" for c in title).strip().replace(" ", "-")
    return f"{stem[:60] or 'artifact'}.html"


def save_dialog(parent: QWidget, title: str, native: bool) -> QFileDialog:
    """A window-modal "Export HTML" save dialog (not yet open; connect ``fileSelected``, then open())."""
    dialog = QFileDialog(parent, "Export HTML")
    dialog.setObjectName("exportDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setNameFilter("HTML files (*.html)")
    dialog.setDefaultSuffix("html")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, not native)
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    dialog.setDirectory(folder if folder and Path(folder).is_dir() else str(Path.home()))
    dialog.selectFile(file_name(title))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dialog


def write_export(
    path: str | Path, html: str, files: dict[str, tuple[str, bytes]], *, network: bool = False
) -> str | None:
    """Write the page with its data files inlined; returns None, or one line saying what failed.

    ``network``: the artifact's Network toggle is on (the page gets no Content-Security-Policy).
    """
    from studio.core.export import export_html

    try:
        Path(path).write_text(export_html(html, files, network=network), encoding="utf-8")
    except OSError as e:
        return f"Could not export to {path}: {e.strerror or e}"
    return None


class ArtifactExport(QObject):
    """Copy Source and Export HTML of the artifact on screen.

    Args:
        session: the chat (the version shown, else the newest; the conversation's data files).
        chat, status: where problems and results are told.
        parent: the widget the save dialog opens over.
        native: use the platform's file dialog.
    """

    def __init__(
        self, session: ChatSession, chat: ChatView, status: StudioStatusBar, parent: QWidget, native: bool
    ) -> None:
        super().__init__(parent)
        self.s, self.chat, self.status, self.parent_widget, self.native = (
            session,
            chat,
            status,
            parent,
            native,
        )
        # Whether the shown artifact's Network toggle is on (then the export gets no CSP); the window sets it.
        self.network_on: Callable[[], bool] = lambda: False

    def _version(self, what: str) -> Version | None:
        version = self.s.current_version()
        if version is None:
            self.chat.show_notice(f"There is no artifact to {what} yet.", "info")
        return version

    @Slot()
    def copy_source(self) -> None:
        """Copy the shown artifact's source to the clipboard (Edit > Copy Source and the pane's button)."""
        version = self._version("copy")
        if version is not None:
            QGuiApplication.clipboard().setText(version.artifact.source)
            self.status.set_note("Source copied")

    @Slot()
    def export_dialog(self) -> QFileDialog | None:
        """Ask where to save the shown artifact as one standalone .html file (window-modal)."""
        version = self._version("export")
        if version is None:
            return None
        dialog = save_dialog(self.parent_widget, version.artifact.title, self.native)
        dialog.fileSelected.connect(self.export_to)
        dialog.open()
        return dialog

    @Slot(str)
    def export_to(self, path: str) -> bool:
        """Write the shown artifact, with the conversation's data files inlined, to ``path``."""
        version = self.s.current_version()
        if version is None:
            return False
        files = {a.name: (a.mime, a.data) for a in self.s.conversation.attachments()}
        error = write_export(path, version.html, files, network=self.network_on())
        if error:
            self.chat.show_notice(error, "error")
            return False
        self.status.set_note(f"Exported {Path(path).name}")
        return True
