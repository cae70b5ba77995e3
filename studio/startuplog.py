"""Startup failures: written to a log file in the per-user log folder, shown with its path.

The person who double-clicked the icon never sees a traceback: :func:`run_guarded` catches what
escapes the app's start, appends the traceback to ``<user log dir>/artifacts-studio.log`` and
shows a short message with that path (a message box when a window can be shown, stderr otherwise).
While the guarded function runs, warnings from the ``studio`` loggers go to the same file.

``STUDIO_FORCE_STARTUP_FAILURE`` (a test hook) makes :func:`maybe_fail` raise.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

LOG_NAME = "artifacts-studio.log"
FAIL_ENV = "STUDIO_FORCE_STARTUP_FAILURE"  # test hook: the stage name at which to fail
EXIT_STARTUP_FAILED = 70  # EX_SOFTWARE


class ForcedStartupFailure(RuntimeError):
    """Raised by :func:`maybe_fail` when the test hook asks for it."""


def log_path() -> Path:
    """The log file startup failures are appended to (in :func:`studio.store.paths.log_dir`)."""
    from studio.store.paths import log_dir

    return log_dir() / LOG_NAME


def maybe_fail(stage: str) -> None:
    """Raise :class:`ForcedStartupFailure` when ``$STUDIO_FORCE_STARTUP_FAILURE`` names ``stage``."""
    if os.environ.get(FAIL_ENV) == stage:
        raise ForcedStartupFailure(f"forced startup failure at {stage!r} ({FAIL_ENV})")


def write_failure(exc: BaseException) -> Path | None:
    """Append ``exc`` with its traceback to the log file; returns the path, or None if unwritable."""
    path = log_path()
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(exc))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {stamp} startup failed (pid {os.getpid()}, argv {sys.argv!r})\n{text}\n")
    except OSError:
        return None
    return path


def failure_message(exc: BaseException, path: Path | None) -> str:
    """The short text shown to the user: what failed and where the details are."""
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = f"Details are in {path}" if path is not None else "The log file could not be written."
    return f"Artifacts Studio could not start: {what}\n\n{where}"


def _can_show_window() -> bool:
    """True when a QApplication exists, or one could be made without aborting the process."""
    qtcore = sys.modules.get("PySide6.QtWidgets")
    if qtcore is not None and qtcore.QApplication.instance() is not None:
        return True
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show_failure(message: str) -> str:
    """Show ``message`` in a message box when possible, else on stderr; returns where it went."""
    if _can_show_window():
        try:
            from PySide6.QtCore import Qt
            from PySide6.QtWidgets import QApplication, QMessageBox

            app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "artifacts-studio"])
            box = QMessageBox(QMessageBox.Icon.Critical, "Artifacts Studio", message)
            box.setObjectName("startupFailure")
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the path
            box.exec()
            app.processEvents()
            return "dialog"
        except Exception:  # the stderr fallback below must always run
            pass
    print(message, file=sys.stderr, flush=True)
    return "stderr"


def _attach_file_handler() -> logging.Handler | None:
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        return None
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("studio").addHandler(handler)
    return handler


def run_guarded(fn: Callable[[], int], *, show: Callable[[str], str] = show_failure) -> int:
    """Run the app's start; a failure is logged to the file and shown, never as a traceback.

    Args:
        fn: starts the app and returns its exit status.
        show: how the failure message reaches the user (default: message box or stderr).

    Returns:
        ``fn()``'s status, or :data:`EXIT_STARTUP_FAILED` when it raised.
    """
    handler = _attach_file_handler()
    try:
        maybe_fail("start")
        return fn()
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # all of it goes to the log file, none on screen
        path = write_failure(exc)
        log.debug("startup failed; logged to %s", path)
        show(failure_message(exc, path))
        return EXIT_STARTUP_FAILED
    finally:
        if handler is not None:
            logging.getLogger("studio").removeHandler(handler)
            handler.close()
