"""Run one blocking call off the GUI thread and get its result back as a queued signal.

The dialogs use :class:`BackgroundJob` for everything that touches the disk, the network or the
keyring, so the GUI thread never waits on them. Errors come back as values and are shown with
:func:`one_line` (never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from studio.engine.threaded import one_line

_LIVE: set[BackgroundJob] = set()  # jobs still running (a running QThread must never be destroyed)


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


def start_job(
    jobs: list[BackgroundJob],
    fn: Callable[[BackgroundJob], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> BackgroundJob:
    """Start ``fn`` on a new job wired to ``on_done`` / ``on_error``, kept in ``jobs`` (ended ones dropped).

    Returns:
        The started job.
    """
    job = BackgroundJob(fn)
    job.succeeded.connect(on_done)
    job.errored.connect(on_error)
    jobs[:] = [j for j in jobs if j.isRunning()] + [job]
    return job.start_job()


__all__ = ["BackgroundJob", "one_line", "start_job"]
