"""Every per-user path (platformdirs), and how to point elsewhere.

The data folder (the library, the artifacts' saved state) is, in order: an explicit ``--data-dir``,
``$STUDIO_DATA_DIR``, then the per-user data directory. The config folder (settings, window state,
added models) is ``$STUDIO_CONFIG_DIR`` or the per-user config directory. The log folder is
``$STUDIO_LOG_DIR`` or the per-user log directory. The cache folder (what can be rebuilt, such as
the saved prompt states) is ``$STUDIO_CACHE_DIR`` or the per-user cache directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

DIR_NAME = "artifacts-studio"  # the per-user folders' name
ENV_DATA_DIR = "STUDIO_DATA_DIR"
ENV_CONFIG_DIR = "STUDIO_CONFIG_DIR"
ENV_LOG_DIR = "STUDIO_LOG_DIR"
ENV_CACHE_DIR = "STUDIO_CACHE_DIR"
PROMPT_STATE_DIR = "prompt-state"
DB_NAME = "library.db"
SETTINGS_NAME = "settings.json"
WINDOW_STATE_NAME = "window.ini"
ARTIFACT_STATE_NAME = "artifact-state"


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
    return Path(platformdirs.user_data_dir(DIR_NAME, appauthor=False))


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The settings folder (not created here)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_CONFIG_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(DIR_NAME, appauthor=False))


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder (not created here): everything in it can be deleted and rebuilt."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(DIR_NAME, appauthor=False))


def prompt_state_dir(cache: str | os.PathLike[str] | None = None) -> Path:
    """Where engines save the evaluated system prompt (KV state) per model and prompt."""
    return cache_dir(cache) / PROMPT_STATE_DIR


def library_path(data: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite file of the library in ``data_dir(data)``."""
    return data_dir(data) / DB_NAME


def settings_path(config: str | os.PathLike[str] | None = None) -> Path:
    """The settings JSON file in ``config_dir(config)``."""
    return config_dir(config) / SETTINGS_NAME


def window_state_path(config: str | os.PathLike[str] | None = None) -> Path:
    """The window geometry and splitter file (QSettings INI) in ``config_dir(config)``."""
    return config_dir(config) / WINDOW_STATE_NAME


def artifact_state_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """Where artifacts' localStorage and IndexedDB persist, in ``data_dir(data)``."""
    return data_dir(data) / ARTIFACT_STATE_NAME


def launcher_dir(platform: str | None = None) -> Path:
    """Where Save as App writes its launchers: ``~/Applications`` on macOS, else the user's own
    ``.desktop`` entries, ``$XDG_DATA_HOME/applications`` (``~/.local/share/applications``)."""
    if (platform or sys.platform) == "darwin":
        return Path.home() / "Applications"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "applications"


def log_dir() -> Path:
    """The log folder: ``$STUDIO_LOG_DIR`` or the per-user log directory."""
    env = os.environ.get(ENV_LOG_DIR)
    if env:
        return Path(env)
    return Path(platformdirs.user_log_dir(DIR_NAME, appauthor=False))
