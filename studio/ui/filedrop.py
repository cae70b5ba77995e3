"""Dropping local files on a widget: one mixin for the chat, the composer and its input box."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent


def local_paths(mime: Any) -> list[str]:
    """The local file paths in a drag's mime data (none for remote URLs or plain text)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class FileDropTarget:
    """Mixin (list it before the Qt class): local file drops go to ``files_dropped(paths)``;
    any other drag is left to the Qt class (a text box still takes dropped text)."""

    def files_dropped(self, paths: list[str]) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)  # type: ignore[misc]

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)  # type: ignore[misc]

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.files_dropped(paths)
        else:
            super().dropEvent(event)  # type: ignore[misc]
