"""Window state (geometry, splitter) kept with QSettings under the per-user config dir."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

log = logging.getLogger("studio.window")

DEFAULT_SIZE = (1400, 860)
DEFAULT_SPLIT = (560, 840)


def settings_path() -> Path:
    """The window-state file under the per-user config dir (honours XDG_CONFIG_HOME)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("artifacts-studio", appauthor=False)) / "window.ini"


def open_settings(path: Path | None = None) -> QSettings:
    """An INI-format QSettings at ``path`` (default :func:`settings_path`)."""
    return QSettings(str(path or settings_path()), QSettings.Format.IniFormat)


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
