"""Generation off the GUI thread.

:class:`GenerationController` owns one long-lived worker :class:`QThread` per engine. The
engine's blocking calls (``load``, iterating ``stream_chat``, ``close``) all run there, so a
thread-bound library (MLX) sees one thread. The worker appends text to a locked buffer; a
GUI-side timer drains it at most once per frame (~16 ms), so the chat never gets one update per
token. Stop sets the request's CancelToken (the engine checks it between tokens).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from studio.engine.base import CancelToken, ChatMessage, Chunk, Engine, EngineError, GenerationParams

log = logging.getLogger(__name__)

FRAME_MS = 16
_STRANDED: list[QThread] = []


@dataclass
class _Request:
    """One answer in flight, shared by the GUI and the worker (buffer under ``lock``)."""

    request_id: str
    cancel: CancelToken = field(default_factory=CancelToken)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[str] = field(default_factory=list)
    last: Chunk | None = None
    done: bool = False
    background: bool = False  # gives way to a chat answer (GenerationController.generate)


class _Worker(QObject):
    """Lives on the worker thread; every slot here runs there."""

    loaded = Signal(object)  # ModelInfo
    loadFailed = Signal(str)
    ended = Signal(object)  # _Request

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine

    @Slot(str)
    def load(self, path: str) -> None:
        try:
            info = self._engine.load(path)
        except EngineError as e:
            self.loadFailed.emit(str(e) or type(e).__name__)
            return
        except Exception as e:  # a bug or a library error: say so, never crash the GUI
            log.exception("loading %s failed", path)
            self.loadFailed.emit(f"could not load the model: {type(e).__name__}: {e}")
            return
        self.loaded.emit(info)

    @Slot(object, object, object)
    def generate(self, req: _Request, messages: list[ChatMessage], params: GenerationParams) -> None:
        last = Chunk(finish_reason="error", error="the engine produced no output")
        try:
            if req.cancel.cancelled:
                last = Chunk(finish_reason="cancelled")
            else:
                for chunk in self._engine.stream_chat(messages, params, req.cancel):
                    last = chunk
                    with req.lock:
                        if chunk.text:
                            req.pending.append(chunk.text)
                        req.last = chunk
                    if chunk.finish_reason is not None:
                        break
                    if req.cancel.cancelled:  # an engine that ignores the token still stops here
                        last = Chunk(
                            prompt_tokens=chunk.prompt_tokens,
                            generated_tokens=chunk.generated_tokens,
                            ttft=chunk.ttft,
                            tps=chunk.tps,
                            finish_reason="cancelled",
                        )
                        break
                else:
                    if last.finish_reason is None:
                        last = Chunk(finish_reason="stop", generated_tokens=last.generated_tokens)
        except EngineError as e:
            last = Chunk(finish_reason="error", error=str(e) or type(e).__name__)
        except Exception as e:
            log.exception("generation failed")
            last = Chunk(finish_reason="error", error=f"the engine failed: {type(e).__name__}: {e}")
        with req.lock:
            req.last = last
            req.done = True
        self.ended.emit(req)

    @Slot()
    def close(self) -> None:
        try:
            self._engine.close()
        except Exception:
            log.exception("closing the engine failed")
        thread = QThread.currentThread()
        if thread is not None:
            thread.quit()


class GenerationController(QObject):
    """Runs an engine on its own long-lived thread and streams answers to the GUI.

    Args:
        engine: any :class:`~studio.engine.base.Engine`.
        parent: the Qt parent.

    Signals:
        loading(str): a model load started (the path).
        loaded(object): the model is ready (a ModelInfo).
        loadFailed(str): one line saying why the model did not load.
        started(str): an answer started (the request id).
        delta(str, str): request id and the text since the last delta (at most one per frame).
        progress(str, object): request id and the latest Chunk (counters so far).
        finished(str, object): request id and the last Chunk (``finish_reason`` set; errors included).
    """

    loading = Signal(str)
    loaded = Signal(object)
    loadFailed = Signal(str)
    started = Signal(str)
    delta = Signal(str, str)
    progress = Signal(str, object)
    finished = Signal(str, object)

    _doLoad = Signal(str)
    _doGenerate = Signal(object, object, object)
    _doClose = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._req: _Request | None = None
        self._next: tuple[str, list[ChatMessage], GenerationParams] | None = (
            None  # waits for a background call
        )
        self._loading = False
        self._closed = False
        self._thread = QThread()
        self._thread.setObjectName(f"studio-engine-{engine.name}")
        self._worker = _Worker(engine)
        self._worker.moveToThread(self._thread)
        self._doLoad.connect(self._worker.load)
        self._doGenerate.connect(self._worker.generate)
        self._doClose.connect(self._worker.close)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.loadFailed.connect(self._on_load_failed)
        self._worker.ended.connect(self._on_ended)
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._drain)
        self._thread.start()

    # -- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while an answer is being generated (or waits for a background call to give way)."""
        return self._req is not None or self._next is not None

    @property
    def is_loading(self) -> bool:
        return self._loading

    @property
    def current_request(self) -> str | None:
        return self._req.request_id if self._req else None

    @property
    def worker_thread(self) -> QThread:
        return self._thread

    # -- commands ------------------------------------------------------------------------

    def load(self, path: str) -> None:
        """Load a model on the worker thread (returns at once; see ``loaded``/``loadFailed``)."""
        if self._closed:
            return
        self._loading = True
        self.loading.emit(path)
        self._doLoad.emit(path)

    def generate(
        self,
        request_id: str,
        messages: Sequence[ChatMessage],
        params: GenerationParams | None = None,
        *,
        background: bool = False,
    ) -> bool:
        """Start an answer on the worker thread; False when one is already running.

        Args:
            background: a call that gives way (an artifact's model call): a chat answer asked for while
                it runs cancels it and starts as soon as it has ended (True is returned for the answer).
        """
        if self._closed:
            return False
        if self._req is not None:
            if background or not self._req.background or self._next is not None:
                return False
            self._next = (request_id, list(messages), params or GenerationParams())
            self._cancel(self._req)
            return True
        self._start(request_id, list(messages), params or GenerationParams(), background)
        return True

    def _start(
        self, request_id: str, messages: list[ChatMessage], params: GenerationParams, background: bool = False
    ) -> None:
        self._req = _Request(request_id, background=background)
        self._timer.start()
        self.started.emit(request_id)
        self._doGenerate.emit(self._req, messages, params)

    def stop(self, request_id: str | None = None) -> None:
        """Stop the answer in flight; it ends with finish_reason "cancelled" within one token.

        Args:
            request_id: stop only this request (None: whatever runs, and a chat answer waiting for it).
        """
        waiting = self._next
        if waiting is not None and request_id in (None, waiting[0]):
            self._next = None  # it never started: it ends now, cancelled
            self.finished.emit(waiting[0], Chunk(finish_reason="cancelled"))
            if request_id is not None:
                return
        req = self._req
        if req is None or (request_id is not None and req.request_id != request_id):
            return
        self._cancel(req)

    def _cancel(self, req: _Request) -> None:
        req.cancel.cancel()
        try:
            self.engine.cancel()
        except Exception:
            log.exception("engine.cancel failed")

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Stop, close the engine on its thread, and join the thread.

        A model load cannot be interrupted, so this may wait for it to end (up to ``timeout_ms``).
        """
        if self._closed:
            return
        self._closed = True
        self.stop()
        self._timer.stop()
        self._doClose.emit()
        if not self._thread.wait(timeout_ms):
            log.error("the engine thread did not stop within %d ms; leaving it behind", timeout_ms)
            _STRANDED.append(self._thread)  # never destroy a running QThread (that aborts the process)
        self._req = None
        self._next = None

    # -- from the worker -----------------------------------------------------------------

    def _take(self, req: _Request) -> tuple[str, Chunk | None]:
        with req.lock:
            text = "".join(req.pending)
            req.pending.clear()
            return text, req.last

    @Slot()
    def _drain(self) -> None:
        req = self._req
        if req is None:
            self._timer.stop()
            return
        text, last = self._take(req)
        if text:
            self.delta.emit(req.request_id, text)
        if last is not None and (text or last.finish_reason is None):
            self.progress.emit(req.request_id, last)

    @Slot(object)
    def _on_ended(self, req: _Request) -> None:
        if req is not self._req:
            return
        self._timer.stop()
        text, last = self._take(req)
        if text:
            self.delta.emit(req.request_id, text)
        self._req = None
        self.finished.emit(req.request_id, last or Chunk(finish_reason="error", error="no output"))
        waiting, self._next = self._next, None
        if waiting is not None and not self._closed and self._req is None:
            self._start(*waiting)

    @Slot(object)
    def _on_loaded(self, info: object) -> None:
        self._loading = False
        self.loaded.emit(info)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._loading = False
        self.loadFailed.emit(message)
