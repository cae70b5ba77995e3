"""Artifacts' model calls in the window: consent, the per-run budget, the queue behind the chat, Stop.

:class:`BridgeService` is the window's :class:`~studio.web.bridge.BridgeHost`: every artifact page of
the window's profile hands it ``window.studio`` calls. It runs them one at a time on the current
controller as background requests (a chat answer always goes first: calls wait while the chat answers,
and a chat answer asked for during a call cancels it). The first call of an artifact waits for the
user's Allow / Deny in :class:`BridgeBar`, remembered per artifact; the same bar then says "this
artifact is using the model" with Stop.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from studio.core.bridge import (
    MAX_QUEUED,
    NOT_ALLOWED,
    BridgeCall,
    BridgeError,
    ConsentBook,
    RunBudget,
    chat_messages,
)
from studio.engine.base import Chunk, GenerationParams
from studio.store.settings import SettingsState, save_settings
from studio.web.bridge import attach_bridge, bridge_host

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEngineProfile

    from studio.ui.answerrunner import AnswerRunner
    from studio.ui.generation import GenerationController
    from studio.web.bridge import BridgeEndpoint

log = logging.getLogger(__name__)

STOPPED = "window.studio: stopped by the user"
RUN_ENDED = "window.studio: the artifact's run ended (reloaded or replaced)"
NO_MODEL = "window.studio: no model is loaded"
INTERRUPTED = "window.studio: the chat needed the model; call again"
_ids = itertools.count(1)


@dataclass(eq=False)
class _Job:
    endpoint: BridgeEndpoint
    run: int
    call: BridgeCall
    artifact_id: str
    title: str
    request_id: str = ""
    text: list[str] = field(default_factory=list)
    reason: str | None = None  # why it was cancelled (None: not by the bridge)

    def live(self) -> bool:
        ep = self.endpoint
        return shiboken6.isValid(ep) and ep.run == self.run and ep.is_open(self.call.call_id)


class BridgeService(QObject):
    """Serves ``window.studio`` calls on the window's model.

    Args:
        runner: whose current controller runs the calls (and whose chat answers go first).
        consent: the remembered Allow / Deny per artifact.
        save_consent: called with the answers after each change (None: not kept across runs).
        budget: makes each run's :class:`RunBudget` (tests pass smaller ones).
        parent: the Qt parent.

    Signals:
        consentAsked(str, str): an artifact (id, title) waits for the user's answer.
        consentSettled(): the question is gone (answered, or its run ended).
        activityChanged(str): the title of the artifact using the model now ('' when none).
    """

    consentAsked = Signal(str, str)
    consentSettled = Signal()
    activityChanged = Signal(str)

    def __init__(
        self,
        runner: AnswerRunner,
        consent: ConsentBook,
        save_consent: Callable[[dict[str, bool]], None] | None = None,
        budget: Callable[[], RunBudget] = RunBudget,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.consent = consent
        self._save = save_consent
        self.make_budget = budget
        self._queue: deque[_Job] = deque()
        self._budgets: dict[int, tuple[int, RunBudget]] = {}  # id(endpoint) -> (run, budget)
        self.current: _Job | None = None
        self.asking: _Job | None = None
        self.profile: QWebEngineProfile | None = None  # whose pages it serves (install_bridge)
        self.bar: BridgeBar | None = None  # its question and indicator (install_bridge)
        self._heard: set[int] = set()
        runner.controllerChanged.connect(self._hear)
        self._hear(runner.controller)
        runner.answerFinished.connect(lambda *_a: self._pump())

    # -- BridgeHost ------------------------------------------------------------------------
    def submit(self, endpoint: BridgeEndpoint, call: BridgeCall) -> None:
        """Admit a call (budget, queue size) and run it when its turn comes."""
        try:
            self.budget(endpoint).admit(call)
        except BridgeError as exc:
            endpoint.note("warning", str(exc))
            endpoint.reject(call.call_id, str(exc))
            return
        if sum(job.endpoint is endpoint for job in self._queue) >= MAX_QUEUED:
            self._settle(endpoint, call.call_id, 0)
            endpoint.reject(call.call_id, f"window.studio: more than {MAX_QUEUED} calls are waiting")
            return
        self._queue.append(_Job(endpoint, endpoint.run, call, endpoint.artifact_id, endpoint.title))
        self._pump()

    def cancel(self, endpoint: BridgeEndpoint, call_id: int) -> None:
        """The page left a stream's loop: stop that call."""
        job = self.current
        if job is not None and job.endpoint is endpoint and job.call.call_id == call_id:
            self._stop_current("window.studio: the stream was closed")
            return
        for queued in list(self._queue):
            if queued.endpoint is endpoint and queued.call.call_id == call_id:
                self._queue.remove(queued)
                self._settle(endpoint, call_id, 0)
                endpoint.reject(call_id, "window.studio: the stream was closed")

    def run_ended(self, endpoint: BridgeEndpoint) -> None:
        """A page reloaded or went: its calls are dropped and the one running is cancelled."""
        self._queue = deque(job for job in self._queue if job.endpoint is not endpoint)
        self._budgets.pop(id(endpoint), None)
        if self.current is not None and self.current.endpoint is endpoint:
            self._stop_current(RUN_ENDED)
        if self.asking is not None and self.asking.endpoint is endpoint:
            self.asking = None
            self.consentSettled.emit()
            self._pump()

    # -- the user --------------------------------------------------------------------------
    @Slot(bool)
    def answer_consent(self, allowed: bool) -> None:
        """The user's answer to the question shown (remembered for that artifact)."""
        job, self.asking = self.asking, None
        self.consentSettled.emit()
        if job is None:
            return
        self.consent.set(job.artifact_id, allowed)
        if self._save is not None:
            try:
                self._save(dict(self.consent.answers))
            except OSError as exc:
                log.error("could not save the artifact's model permission: %s", exc)
        self._pump()

    @Slot()
    def stop(self) -> None:
        """Stop: the running call and every waiting one are rejected; their runs may call no more."""
        for job in [self.current, *self._queue]:
            if job is not None and shiboken6.isValid(job.endpoint):
                self.budget(job.endpoint).stop()
        queued, self._queue = self._queue, deque()
        for job in queued:
            if shiboken6.isValid(job.endpoint):
                job.endpoint.reject(job.call.call_id, STOPPED)
        self._stop_current(STOPPED)

    def budget(self, endpoint: BridgeEndpoint) -> RunBudget:
        """The budget of ``endpoint``'s current run."""
        run, budget = self._budgets.get(id(endpoint), (-1, None))
        if budget is None or run != endpoint.run:
            budget = self.make_budget()
            self._budgets[id(endpoint)] = (endpoint.run, budget)
        return budget

    def close(self) -> None:
        """The window closes: waiting calls are rejected and the profile's pages get no more answers."""
        self.stop()
        profile = self.profile
        if profile is not None and shiboken6.isValid(profile) and bridge_host(profile) is self:
            attach_bridge(profile, None)

    @property
    def waiting(self) -> int:
        """Calls waiting for their turn."""
        return len(self._queue)

    # -- running ---------------------------------------------------------------------------
    def _hear(self, ctl: GenerationController | None) -> None:
        if ctl is None or id(ctl) in self._heard:
            self._pump()
            return
        self._heard.add(id(ctl))
        ctl.delta.connect(self._on_delta)
        ctl.finished.connect(self._on_finished)
        ctl.loaded.connect(lambda _info: self._pump())  # calls made while the model loaded
        key = id(ctl)
        ctl.destroyed.connect(lambda *_a: self._heard.discard(key))
        self._pump()

    def _pump(self) -> None:
        if self.current is not None or self.asking is not None:
            return
        while self._queue:
            job = self._queue[0]
            if not job.live():
                self._queue.popleft()
                continue
            ctl = self.runner.controller
            if ctl is None:
                self._queue.popleft()
                self._settle(job.endpoint, job.call.call_id, 0)
                job.endpoint.reject(job.call.call_id, NO_MODEL)
                continue
            if ctl.busy or ctl.is_loading or self.runner.session.busy:
                return  # behind the chat: its end pumps again
            allowed = self.consent.get(job.artifact_id)
            if allowed is None:
                self.asking = job
                self.consentAsked.emit(job.artifact_id, job.title)
                return
            self._queue.popleft()
            if not allowed:
                self._settle(job.endpoint, job.call.call_id, 0)
                job.endpoint.note("warning", NOT_ALLOWED)
                job.endpoint.reject(job.call.call_id, NOT_ALLOWED)
                continue
            job.request_id = f"bridge-{next(_ids)}"
            params = GenerationParams(temperature=job.call.temperature, max_tokens=job.call.max_tokens)
            if not ctl.generate(job.request_id, chat_messages(job.call), params, background=True):
                self._queue.appendleft(job)
                return
            self.current = job
            log.info("artifact %s: model %s call %d", job.artifact_id, job.call.kind, job.call.call_id)
            self.activityChanged.emit(job.title)
            return

    def _stop_current(self, reason: str) -> None:
        job, ctl = self.current, self.runner.controller
        if job is None:
            return
        job.reason = reason
        if ctl is not None:
            ctl.stop(job.request_id)

    @Slot(str, str)
    def _on_delta(self, request_id: str, text: str) -> None:
        job = self.current
        if job is None or request_id != job.request_id:
            return
        job.text.append(text)
        if job.call.stream and job.live():
            job.endpoint.chunk(job.call.call_id, text)

    @Slot(str, object)
    def _on_finished(self, request_id: str, chunk: Chunk) -> None:
        job = self.current
        if job is None or request_id != job.request_id:
            self._pump()  # a chat answer ended: the next call may run
            return
        self.current = None
        self.activityChanged.emit("")
        if job.live():
            self._settle(job.endpoint, job.call.call_id, chunk.generated_tokens)
            reason = chunk.finish_reason or "stop"
            if reason in ("stop", "length"):
                job.endpoint.resolve(job.call.call_id, "" if job.call.stream else "".join(job.text))
            elif reason == "cancelled":
                job.endpoint.reject(job.call.call_id, job.reason or INTERRUPTED)
            else:
                job.endpoint.reject(
                    job.call.call_id, f"window.studio: the model failed: {chunk.error or reason}"
                )
        self._pump()

    def _settle(self, endpoint: BridgeEndpoint, call_id: int, used: int) -> None:
        if shiboken6.isValid(endpoint):
            self.budget(endpoint).settle(call_id, used)


class BridgeBar(QWidget):
    """A strip over the preview: "<title> wants to use the model · Allow · Deny", then
    "<title> is using the model · Stop". Hidden when neither applies.

    Args:
        service: whose question and activity it shows.
        parent: the Qt parent.
        only: show only this artifact's (its origin's host; an app window's bar), None: every one.
    """

    def __init__(
        self, service: BridgeService, parent: QWidget | None = None, *, only: str | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bridgeBar")
        self.service = service
        self.only = only
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # the title is the artifact's: never markup
        self.label.setWordWrap(True)
        self.allow = QPushButton("Allow")
        self.deny = QPushButton("Deny")
        self.stop = QPushButton("Stop")
        self.allow.setToolTip(
            "Let this artifact send prompts to the local model (remembered; Settings can revoke)"
        )
        self.allow.clicked.connect(lambda: service.answer_consent(True))
        self.deny.clicked.connect(lambda: service.answer_consent(False))
        self.stop.clicked.connect(service.stop)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.label, 1)
        for button in (self.allow, self.deny, self.stop):
            row.addWidget(button)
        service.consentAsked.connect(self._ask)
        service.consentSettled.connect(self._refresh)
        service.activityChanged.connect(lambda _title: self._refresh())
        self._refresh()

    def _ask(self, artifact_id: str, title: str) -> None:
        if self.only in (None, artifact_id):
            self._question(title)

    def _question(self, title: str) -> None:
        self.label.setText(f"“{title}” wants to use the model. Its prompts stay on this computer.")
        self._show(asking=True)

    def _mine(self, job: _Job | None) -> bool:
        return job is not None and self.only in (None, job.artifact_id)

    def _refresh(self) -> None:
        asking = self.service.asking
        if asking is not None and self._mine(asking):
            self._question(asking.title)
            return
        job = self.service.current
        if job is None or not self._mine(job):
            self.hide()
            return
        self.label.setText(f"“{job.title}” is using the model")
        self._show(asking=False)

    def _show(self, *, asking: bool) -> None:
        self.allow.setVisible(asking)
        self.deny.setVisible(asking)
        self.stop.setVisible(not asking)
        self.show()


def install_bridge(
    runner: AnswerRunner, pane: QWidget, prefs: SettingsState, profile: QWebEngineProfile, parent: QObject
) -> BridgeService:
    """Serve the model calls of ``profile``'s artifacts in a window: the service, and its bar over the pane.

    The user's answers are saved with the settings (``prefs``) as they are given.
    """

    def save(answers: dict[str, bool]) -> None:
        prefs.saved = replace(prefs.saved, model_access=answers)
        save_settings(prefs.saved, prefs.file)

    service = BridgeService(runner, ConsentBook(prefs.saved.model_access), save, parent=parent)
    attach_bridge(profile, service)
    service.profile = profile
    bar = BridgeBar(service, pane)
    layout = pane.layout()
    if isinstance(layout, QBoxLayout):
        layout.insertWidget(1, bar)
    service.bar = bar
    return service


__all__ = ["BridgeBar", "BridgeService", "install_bridge"]
