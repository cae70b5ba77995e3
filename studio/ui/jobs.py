"""Run one blocking call off the GUI thread and get its result back as a queued signal.

The dialogs use :class:`BackgroundJob` for everything that touches the disk, the network or the
keyring, so the GUI thread never waits on them. Errors come back as values and are shown with
:func:`one_line` (never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

_LIVE: set[BackgroundJob] = set()  # jobs still running (a running QThread must never be destroyed)


def one_line(exc: BaseException | str) -> str:
    """The first line of an error, at most 300 characters (never a traceback)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class BackgroundJob(QThread):
    """Runs one call off the GUI thread; its result or its exception comes back as a queued signal.

    Args:
        fn: the call; it gets the job, so it can report with :meth:`report`.
        parent: the Qt parent (None: the job keeps itself alive until it ends).

    Signals:
        succeeded(object): the call's return value.
        errored(object): the exception it raised.
        reported(object): whatever the call passed to :meth:`report` (e.g. progress).
    """

    succeeded = Signal(object)
    errored = Signal(object)
    reported = Signal(object)

    def __init__(self, fn: Callable[[BackgroundJob], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.finished.connect(self._forget)

    def start_job(self) -> BackgroundJob:
        """Start the call (returns the job)."""
        _LIVE.add(self)
        self.start()
        return self

    def report(self, value: object) -> None:
        self.reported.emit(value)

    def run(self) -> None:
        try:
            result = self._fn(self)
        except Exception as e:  # every failure comes back as a value, never a crash
            self.errored.emit(e)
        else:
            self.succeeded.emit(result)

    @Slot()
    def _forget(self) -> None:
        _LIVE.discard(self)


__all__ = ["BackgroundJob", "one_line"]
