"""One long-lived thread that runs submitted jobs in order.

Thread-bound libraries (MLX streams belong to the thread that made them) load and generate on
one such thread; callers on any thread submit work and wait on a :class:`~concurrent.futures.Future`.

MLX 0.32 (CPU build) aborts the process at exit ("terminate called without an active exception",
about one run in two, measured here) when a thread that ran MLX work has ended before. So a
worker's thread never ends: :meth:`SerialWorker.close` parks it in a process-wide pool and the
next worker reuses it. Parked threads are daemons that wait on a queue, costing nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)


class WorkerClosed(RuntimeError):
    """The worker was closed; it takes no more jobs."""


class _Runner:
    """A daemon thread that runs (owner, job) items forever."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[tuple[SerialWorker, Callable[[], None]]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="studio-worker", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            _owner, job = self.jobs.get()
            job()


_idle: list[_Runner] = []
_idle_lock = threading.Lock()


def _acquire(name: str) -> _Runner:
    with _idle_lock:
        runner = _idle.pop() if _idle else None
    runner = runner or _Runner()
    runner.thread.name = name
    return runner


def _release(runner: _Runner) -> None:
    runner.thread.name = "studio-worker-idle"
    with _idle_lock:
        _idle.append(runner)


class SerialWorker:
    """Runs jobs one at a time, first in first out, on one long-lived thread.

    Args:
        name: the thread name while this worker holds it (shows in debuggers and logs).
    """

    def __init__(self, name: str) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._released = threading.Event()
        self._runner = _acquire(name)

    @property
    def thread(self) -> threading.Thread:
        return self._runner.thread

    @property
    def closed(self) -> bool:
        return self._closed

    def submit[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; its result or exception lands in the returned future.

        Raises:
            WorkerClosed: after :meth:`close`.
        """
        fut: Future[T] = Future()

        def job() -> None:
            if self._closed:
                fut.cancel()
            if not fut.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)

        with self._lock:
            if self._closed:
                raise WorkerClosed("the engine worker is closed")
            self._runner.jobs.put((self, job))
        return fut

    def call[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the worker and wait for it (runs inline when already on the worker)."""
        if threading.current_thread() is self.thread:
            return fn(*args, **kwargs)
        return self.submit(fn, *args, **kwargs).result()

    def _hand_back(self, runner: _Runner) -> None:
        _release(runner)
        self._released.set()

    def close(self, timeout: float | None = 10.0) -> bool:
        """Refuse new jobs, cancel queued ones that have not started, and hand the thread back.

        The job running now finishes first (engines cancel it before closing).

        Returns:
            True when the thread was handed back within ``timeout``.
        """
        with self._lock:
            if self._closed:
                return self._released.is_set()
            self._closed = True
            runner = self._runner
            runner.jobs.put((self, lambda: self._hand_back(runner)))
        if threading.current_thread() is runner.thread:
            return False  # released once the current job returns
        if not self._released.wait(timeout):
            log.warning("worker %s still busy after %s s", runner.thread.name, timeout)
            return False
        return True
