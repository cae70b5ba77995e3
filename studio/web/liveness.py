"""The liveness probe: does a loaded page move, answer input, fit 1024x768, keep its frame rate.

It runs on the GUI thread without blocking it: every wait is a timer and every page call an
asynchronous ``runJavaScript``, driven by a generator (:meth:`LivenessProbe._steps`). The verdicts
are Qt-free (studio.core.checks). ``check`` probes its own page; the window probes a copy of the final
render in a :class:`ShadowProbe` (its own off-the-record profile, covered by the preview), so synthetic
clicks never touch what the user sees or what the artifact stored.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QImage
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineScript
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from studio.core.checks import Liveness
from studio.web.liveness_js import INSTRUMENT_JS, PROBE_JS

log = logging.getLogger(__name__)

ALIVE_MS = 1000  # frames this far apart decide "alive" (one more halfway)
FPS_MS = 2000  # frames counted over this long
SETTLE_MS = 100  # the first frame: two grabs this far apart that agree (at most SETTLE_TRIES)
SETTLE_TRIES = 6
ACT_MS = 150  # how long a page gets to show its answer to one input
DEADLINE_MS = 12000  # the whole probe, at most (a hung page answers nothing)
PROBE_SIZE = (1024, 768)
_MAIN = QWebEngineScript.ScriptWorldId.MainWorld
SCRIPT_NAME = "studio-liveness"


def install_probe(page: QWebEnginePage) -> None:
    """Instrument a page's future documents (call before its load); never the preview's own pages."""
    if page.scripts().find(SCRIPT_NAME):
        return
    script = QWebEngineScript()
    script.setName(SCRIPT_NAME)
    script.setSourceCode(INSTRUMENT_JS)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(_MAIN)
    script.setRunsOnSubFrames(False)
    page.scripts().insert(script)


@dataclass(frozen=True)
class _Wait:
    ms: int


@dataclass(frozen=True)
class _Js:
    code: str


def _frame(view: QWebEngineView) -> QImage:
    return view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


class LivenessProbe(QObject):
    """Measures one loaded page once; emits ``finished`` with the report fields.

    Signals:
        finished(dict): {alive, responds, overflow, fps, long_tasks, tried, webgl, probe_ms}; fields
            it could not measure (the page stopped answering) are None.
    """

    finished = Signal(dict)

    def __init__(
        self,
        view: QWebEngineView,
        parent: QObject | None = None,
        *,
        alive_ms: int = ALIVE_MS,
        fps_ms: int = FPS_MS,
        act_ms: int = ACT_MS,
        deadline_ms: int = DEADLINE_MS,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._alive_ms, self._fps_ms, self._act_ms = alive_ms, max(fps_ms, alive_ms), act_ms
        self._deadline = QTimer(self, singleShot=True, interval=deadline_ms)
        self._deadline.timeout.connect(lambda: self._finish("the page stopped answering the probe"))
        self._gen: Generator[Any, Any, None] | None = None
        self._seq = 0
        self._errors = 0
        self._report: dict = {}
        self._started = 0.0
        page = view.page()
        signal = getattr(page, "consoleMessage", None)
        if signal is not None and isinstance(page, QWebEnginePage):
            signal.connect(self._console)

    def _console(self, item: dict) -> None:
        if item.get("level") == "error":
            self._errors += 1

    def start(self) -> None:
        """Probe the page now (it has loaded); ``finished`` follows within the deadline."""
        self._seq += 1
        self._report = Liveness().fields()
        self._started = time.monotonic()
        self._gen = self._steps()
        self._deadline.start()
        self._advance(None, self._seq)

    def cancel(self) -> None:
        """Stop without a report (the page is going away)."""
        self._seq += 1
        self._deadline.stop()
        if self._gen is not None:
            self._gen.close()
            self._gen = None

    # -- the driver ------------------------------------------------------------------------
    def _advance(self, value: Any, seq: int) -> None:
        if seq != self._seq or self._gen is None:
            return
        try:
            step = self._gen.send(value)
        except StopIteration:
            self._finish("")
            return
        except Exception as exc:  # a probe bug must not take the window down
            log.exception("liveness probe failed")
            self._finish(f"probe error: {exc}")
            return
        if isinstance(step, _Wait):
            QTimer.singleShot(step.ms, self, lambda s=seq: self._advance(None, s))
        else:
            self._view.page().runJavaScript(step.code, _MAIN, lambda r, s=seq: self._answer(r, s))

    def _answer(self, result: object, seq: int) -> None:
        try:
            value = json.loads(result) if isinstance(result, str) and result[:1] == "{" else result
        except ValueError:
            value = None
        self._advance(value, seq)

    def _finish(self, why: str) -> None:
        if self._gen is None:
            return
        self._seq += 1
        self._deadline.stop()
        gen, self._gen = self._gen, None
        gen.close()
        self._view.page().runJavaScript(
            "window.__studioProbe && __studioProbe.api && __studioProbe.api.end()", _MAIN
        )
        report = dict(self._report)
        report["probe_ms"] = round((time.monotonic() - self._started) * 1000)
        if why:
            log.info("liveness probe ended early: %s", why)
        self.finished.emit(report)

    # -- the steps -------------------------------------------------------------------------
    def _steps(self) -> Generator[Any, Any, None]:
        report = self._report
        ready = yield _Js(PROBE_JS)
        if ready != "installed":
            return  # not a probe page (no instrumentation): nothing measured
        yield _Js("__studioProbe.api.begin()")
        first = _frame(self._view)
        for _ in range(SETTLE_TRIES):  # a page just loaded may not have painted its first frame yet
            yield _Wait(SETTLE_MS)
            frame, first = first, _frame(self._view)
            if frame == first:
                break
        frames = []
        for _ in range(2):
            yield _Wait(self._alive_ms // 2)
            frames.append(_frame(self._view))
        report["alive"] = any(f != first for f in frames)
        yield _Wait(self._fps_ms - self._alive_ms)
        rates = yield _Js("__studioProbe.api.fps()")
        if isinstance(rates, dict):
            report["fps"] = round(float(rates.get("fps", 0)), 1)
            report["long_tasks"] = int(rates.get("long", 0))
        survey = yield _Js("__studioProbe.api.survey()")
        if not isinstance(survey, dict):
            return
        report["overflow"] = bool(survey.get("overflow"))
        report["webgl"] = survey.get("webgl")
        actions = survey.get("actions") or []
        if not actions:
            report["responds"] = None
            return
        outcomes: list[tuple[str, str]] = []
        changed_any = False
        before = _frame(self._view)
        for i, action in enumerate(actions):
            errors = self._errors
            did = yield _Js(f"__studioProbe.api.act({i})")
            yield _Wait(self._act_ms)
            later = yield _Js("__studioProbe.api.since()")
            after = _frame(self._view)
            if not isinstance(did, dict) or not isinstance(later, dict):
                return
            frame_counts = not report["alive"] and action["kind"] not in ("type", "toggle")
            changed = (
                did.get("sync", 0) > 0
                or (not report["alive"] and later.get("mut", 0) > 0)
                or (frame_counts and after != before)
                or (bool(report["alive"]) and did.get("handled", 0) > 0)
            )
            if self._errors > errors:
                outcome = "an error"
            else:
                outcome = "the page changed" if changed else "nothing changed"
                changed_any = changed_any or changed
            outcomes.append((_verb(action), outcome))
            before = after
        report["responds"] = changed_any
        report["tried"] = _group(outcomes)


def _verb(action: dict) -> str:
    kind, label = action.get("kind"), str(action.get("label", ""))
    if kind == "key":
        return f"pressed {label}"
    if kind == "type":
        return f"typed into '{label}'"
    if kind == "canvas":
        return "clicked the canvas centre"
    return f"clicked '{label}'"


def _group(outcomes: list[tuple[str, str]]) -> list[str]:
    """ "pressed ArrowLeft: nothing changed", ... -> "pressed ArrowLeft, ArrowRight: nothing changed"."""
    out: list[str] = []
    last_key: str | None = None
    for verb, outcome in outcomes:
        if verb.startswith("pressed ") and last_key == outcome and out:
            head, _sep, tail = out[-1].rpartition(": ")
            out[-1] = f"{head}, {verb[len('pressed ') :]}: {tail}"
            continue
        out.append(f"{verb}: {outcome}")
        last_key = outcome if verb.startswith("pressed ") else None
    return out


class ShadowProbe(QObject):
    """Probes a copy of an artifact in a page of its own, hidden under the preview.

    The page renders in its own off-the-record profile (the artifact's stored state is not touched)
    at 1024x768, in a container the preview covers (Chromium renders it; the user never sees it).

    Signals:
        finished(str, dict): the html probed and its report (:class:`LivenessProbe`), plus ``console``.
    """

    finished = Signal(str, dict)

    def __init__(self, server: Any, container: QWidget, profile_factory: Callable[[Any], Any]) -> None:
        super().__init__(container)
        self._server = server
        self._container = container
        self._factory = profile_factory
        self._view: QWebEngineView | None = None
        self._probe: LivenessProbe | None = None
        self._html = ""
        self._url = ""
        self._console: list[dict] = []
        self._closed = False

    def _ensure(self) -> QWebEngineView:
        if self._view is not None:
            return self._view
        from studio.web.page import ArtifactPage

        holder = QWidget(self._container)
        holder.setGeometry(0, 0, *PROBE_SIZE)
        holder.lower()  # under the preview: rendered by Chromium, never seen
        holder.show()
        profile = self._factory(self._server)
        view = QWebEngineView(holder)  # a plain view: not one of the preview's SandboxViews
        view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        page = ArtifactPage(profile, view, confirm_link=lambda url, parent: False)
        view.setPage(page)
        profile.setParent(holder)  # after the view: the view (and its page) is deleted first
        view.setGeometry(0, 0, *PROBE_SIZE)
        view.show()
        self._holder = holder
        self._page = page
        install_probe(page)
        page.consoleMessage.connect(self._console.append)
        page.loadFinished.connect(self._loaded)
        self._probe = LivenessProbe(view, self)
        self._probe.finished.connect(self._done)
        self._view = view
        self._profile = profile
        return view

    def run(self, artifact_id: str, html: str) -> None:
        """Load ``html`` and probe it (a run in flight is dropped)."""
        if self._closed:
            return
        self._ensure()
        assert self._probe is not None
        self._probe.cancel()
        self._html, self._console = html, []
        self._url = self._server.put_page(artifact_id, html)  # same origin: its data files resolve
        self._page.load(QUrl(self._url))

    def _loaded(self, ok: bool) -> None:
        view = self._view
        if view is None or self._probe is None or view.url().toString() != self._url:
            return
        self._probe.start()

    def _done(self, report: dict) -> None:
        report = dict(report, console=list(self._console))
        self.finished.emit(self._html, report)
        if self._view is not None:
            self._page.load(QUrl("about:blank"))  # stop its timers and sound

    def close(self) -> None:
        """Delete the page, then its profile (before the window goes)."""
        self._closed = True
        if self._probe is not None:
            self._probe.cancel()
        if self._view is not None and shiboken6.isValid(self._view):
            profile = self._view.page().profile()
            shiboken6.delete(self._view)
            if shiboken6.isValid(profile):
                shiboken6.delete(profile)
            if shiboken6.isValid(self._holder):
                shiboken6.delete(self._holder)
        self._view = None
