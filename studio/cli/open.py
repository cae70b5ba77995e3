"""``artifacts-studio open ID``: one artifact of the library alone in a window of its own (an app).

What "Save as App" launchers run. The id may be shortened to any unique start of it; a bad one is a
one-line error (exit 2) before any window or web engine starts.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
from typing import TYPE_CHECKING

from studio.cli.common import EXIT_BAD_INPUT, err
from studio.store.db import StoreError

if TYPE_CHECKING:
    from studio.store.records import ArtifactVersion

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("open", help="open an artifact of the library in a window of its own, as an app")
    p.add_argument(
        "artifact",
        metavar="ID",
        help="the artifact's id, or a unique start of it (a chat's artifact has the chat's id: see history)",
    )
    return p


def open_main(args: argparse.Namespace) -> int:
    """Find the artifact, then run its app window until it is closed; returns the exit status."""
    from studio.cli.library import open_library

    data_dir = getattr(args, "data_dir", None)
    try:
        lib = open_library(data_dir)
    except StoreError as exc:
        err(str(exc))
        return EXIT_BAD_INPUT
    except (OSError, sqlite3.Error) as exc:  # e.g. a folder where the file should be
        err(
            f"cannot open the library in {data_dir or 'the data folder'}: {getattr(exc, 'strerror', None) or exc}"
        )
        return EXIT_BAD_INPUT
    with lib:
        try:
            version = lib.current_version(lib.find_artifact(args.artifact))
        except KeyError as exc:
            err(str(exc.args[0]))
            return EXIT_BAD_INPUT
    if version is None:
        err(f"the artifact {args.artifact!r} has no version")
        return EXIT_BAD_INPUT
    from studio.startuplog import run_guarded

    return run_guarded(lambda: _run(version, data_dir))


def _run(version: ArtifactVersion, data_dir: str | None) -> int:
    from PySide6.QtCore import QCoreApplication, Qt

    from studio.app import create_application

    owned = QCoreApplication.instance() is None  # deleted at the end only if this call makes it
    app = create_application()
    from studio.core.serving import ArtifactServer
    from studio.store.paths import artifact_state_dir
    from studio.store.settings import load_settings
    from studio.ui.appwindow import AppWindow
    from studio.web.profile import artifact_interceptor, build_artifact_profile
    from studio.web.unload import dispose_web

    server = ArtifactServer()
    profile = build_artifact_profile(server, storage_path=artifact_state_dir(data_dir))
    interceptor = artifact_interceptor(profile)
    if interceptor is not None:
        interceptor.network_default = load_settings().allow_network
    window = AppWindow.for_version(server, profile, version)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # disposed below, before the profile
    window.show()
    try:
        return int(app.exec())
    finally:
        dispose_web(profile, [window])
        if owned:
            from studio.web.unload import shutdown_application

            shutdown_application(app)  # Chromium's last storage commits finish before the exit
