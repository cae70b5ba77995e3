"""Window state (geometry, splitter) kept with QSettings under the per-user config dir."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

from studio.store.paths import window_state_path

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1400, 860)
DEFAULT_SPLIT = (560, 840)


def open_settings(path: Path | None = None) -> QSettings:
    """An INI-format QSettings at ``path`` (default: :func:`studio.store.paths.window_state_path`)."""
    return QSettings(str(path or window_state_path()), QSettings.Format.IniFormat)


def _bytes(value: object) -> QByteArray | None:
    return QByteArray(value) if isinstance(value, QByteArray | bytes) else None


def restore_window(settings: QSettings, window: QMainWindow, splitter: QSplitter) -> None:
    """Put the window and splitter back as they were (or at the default size)."""
    geometry = _bytes(settings.value("window/geometry"))
    if geometry is None or not window.restoreGeometry(geometry):
        if geometry is not None:
            log.info("ignoring a saved window geometry that does not apply")
        window.resize(*DEFAULT_SIZE)
    state = _bytes(settings.value("window/splitter"))
    if state is None or not splitter.restoreState(state):
        splitter.setSizes(list(DEFAULT_SPLIT))


def save_window(settings: QSettings, window: QMainWindow, splitter: QSplitter) -> None:
    """Write geometry and splitter state now."""
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/splitter", splitter.saveState())
    settings.sync()
