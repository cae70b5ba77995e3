"""Real drag-and-drop events for GUI tests."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def drop_files(widget: QWidget, paths: Sequence[str | PathLike[str]]) -> QDropEvent:
    """Send a real drag-enter (which must be accepted) then a drop of local file URLs to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.rect().center())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(pos, *args)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), f"{type(widget).__name__} refused the drag"
    drop = QDropEvent(pos, *args)
    QApplication.sendEvent(widget, drop)
    return drop
