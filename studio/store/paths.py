"""Where the library and the settings live (platformdirs), and how to point elsewhere.

The data folder is, in order: an explicit ``--data-dir``, ``$STUDIO_DATA_DIR``, then the per-user
data directory. The config folder is ``$STUDIO_CONFIG_DIR`` or the per-user config directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "artifacts-studio"
ENV_DATA_DIR = "STUDIO_DATA_DIR"
ENV_CONFIG_DIR = "STUDIO_CONFIG_DIR"
DB_NAME = "library.db"
SETTINGS_NAME = "settings.json"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The library folder (not created here).

    Args:
        override: ``--data-dir``; wins over the environment variable and the platform default.
    """
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The settings folder (not created here)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def library_path(data: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite file of the library in ``data_dir(data)``."""
    return data_dir(data) / DB_NAME


def settings_path(config: str | os.PathLike[str] | None = None) -> Path:
    """The settings JSON file in ``config_dir(config)``."""
    return config_dir(config) / SETTINGS_NAME
