"""A background writer thread: the store's writes happen off the caller's (GUI) thread.

``submit(fn)`` runs ``fn(library)`` on the writer thread and returns a Future. A streaming answer
is an :class:`AnswerRecorder`: ``append`` only buffers text (no I/O, safe per token from any
thread); the thread writes the text so far every ``interval`` seconds (0.5 s by default), so a
killed process loses at most that much of the answer. Tasks run in the order they were submitted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from studio.store.library import Library

log = logging.getLogger(__name__)
T = TypeVar("T")
FLUSH_INTERVAL_S = 0.5


class AnswerRecorder:
    """One answer being streamed into the store.

    Create with :meth:`LibraryWriter.begin_answer`. ``append`` and ``finish`` may be called from
    any thread.
    """

    def __init__(self, writer: LibraryWriter, message_id: str) -> None:
        self.message_id = message_id
        self._writer = writer
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._text = ""
        self._dirty = False
        self._finished = False
        self.last_write = 0.0

    @property
    def text(self) -> str:
        """Everything appended so far."""
        with self._lock:
            if self._parts:
                self._text += "".join(self._parts)
                self._parts.clear()
            return self._text

    def append(self, delta: str) -> None:
        """Add streamed text (cheap: written by the writer thread at its next flush)."""
        if not delta:
            return
        with self._lock:
            if self._finished:
                raise RuntimeError("the answer is already finished")
            self._parts.append(delta)
            self._dirty = True

    def take_dirty(self) -> str | None:
        """The text to write now, or None when nothing changed since the last write (writer thread)."""
        with self._lock:
            if not self._dirty or self._finished:
                return None
            self._dirty = False
        return self.text

    def finish(
        self,
        finish_reason: str,
        *,
        content: str | None = None,
        error: str | None = None,
        stats: dict[str, Any] | None = None,
    ) -> Future[None]:
        """Write the final text and how the answer ended; no more appends after this.

        Args:
            finish_reason: "stop", "length", "cancelled", "error".
            content: the final text, when it differs from what was appended.
        """
        final = self.text if content is None else content
        with self._lock:
            self._finished = True
        return self._writer._finish(self, final, finish_reason, error, stats)


class LibraryWriter:
    """Owns a :class:`Library` on its own thread and runs writes there.

    Args:
        path: the library file (already opened, checked and migrated by the app's main Library).
        interval: how often streaming answers are written (seconds; at most 1).
    """

    def __init__(self, path: str | os.PathLike[str], *, interval: float = FLUSH_INTERVAL_S) -> None:
        self.path = Path(path)
        self.interval = min(interval, 1.0)
        self._cv = threading.Condition()
        self._tasks: deque[tuple[Callable[[Library], Any], Future[Any]]] = deque()
        self._active: dict[str, AnswerRecorder] = {}
        self._stop = False
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, name="studio-store-writer", daemon=True)
        self._thread.start()
        self._ready.result()  # raise here if the library cannot be opened

    # -- API -----------------------------------------------------------------------------

    def submit(self, fn: Callable[[Library], T]) -> Future[T]:
        """Run ``fn(library)`` on the writer thread; the Future holds its result or exception."""
        fut: Future[T] = Future()
        with self._cv:
            if self._stop:
                raise RuntimeError("the library writer is closed")
            self._tasks.append((fn, fut))
            self._cv.notify()
        return fut

    def begin_answer(
        self, conversation_id: str, parent_id: str | None, *, message_id: str | None = None
    ) -> AnswerRecorder:
        """Add an empty streaming answer under ``parent_id`` and return its recorder (does not block)."""
        from studio.store.records import new_id

        recorder = AnswerRecorder(self, message_id or new_id())

        def create(lib: Library) -> None:
            lib.add_message(
                conversation_id,
                "assistant",
                "",
                parent_id=parent_id,
                message_id=recorder.message_id,
                state="streaming",
            )
            recorder.last_write = time.monotonic()
            self._active[recorder.message_id] = recorder

        self.submit(create)
        return recorder

    def flush(self) -> None:
        """Block until every task so far has run and every answer's text is written."""
        self.submit(lambda lib: self._flush(lib, force=True)).result()

    def close(self, timeout: float = 10.0) -> None:
        """Run what is queued, write the answers in progress, and stop the thread."""
        with self._cv:
            if self._stop:
                return
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the library writer did not stop within %.0f s", timeout)

    def __enter__(self) -> LibraryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ----------------------------------------------------------------------

    def _finish(
        self, rec: AnswerRecorder, content: str, reason: str, error: str | None, stats: dict[str, Any] | None
    ) -> Future[None]:
        def done(lib: Library) -> None:
            self._active.pop(rec.message_id, None)
            lib.finish_message(rec.message_id, content, reason, error, stats)

        return self.submit(done)

    def _run(self) -> None:
        try:
            lib = Library(self.path, check=False, maintenance=False)
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            while True:
                with self._cv:
                    if not self._tasks and not self._stop:
                        self._cv.wait(self.interval / 2)
                    tasks = list(self._tasks)
                    self._tasks.clear()
                    stop = self._stop
                for fn, fut in tasks:
                    if fut.set_running_or_notify_cancel():
                        try:
                            fut.set_result(fn(lib))
                        except BaseException as exc:
                            fut.set_exception(exc)
                self._flush(lib, force=stop)
                if stop:
                    with self._cv:
                        if not self._tasks:
                            break
        finally:
            lib.close()

    def _flush(self, lib: Library, *, force: bool) -> None:
        now = time.monotonic()
        idle: list[str] = []
        for rec in list(self._active.values()):
            if not force and now - rec.last_write < self.interval:
                continue
            text = rec.take_dirty()
            try:
                if text is None:
                    idle.append(rec.message_id)
                else:
                    lib.update_content(rec.message_id, text)
                rec.last_write = now
            except Exception:
                log.exception("could not write the answer %s", rec.message_id)
        if idle:
            try:
                lib.touch(idle)  # keeps a long prefill from looking like a dead writer
            except Exception:
                log.exception("could not stamp answers as alive")


__all__ = ["FLUSH_INTERVAL_S", "AnswerRecorder", "LibraryWriter"]
