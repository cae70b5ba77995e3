"""Export HTML: the save dialog and writing one standalone file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QFileDialog, QWidget


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


def write_export(path: str | Path, html: str, files: dict[str, tuple[str, bytes]]) -> str | None:
    """Write the page with its data files inlined; returns None, or one line saying what failed."""
    from studio.core.export import export_html

    try:
        Path(path).write_text(export_html(html, files), encoding="utf-8")
    except OSError as e:
        return f"Could not export to {path}: {e.strerror or e}"
    return None
