"""The model bridge's transport: ``window.studio`` in the page, a QWebChannel to the app.

The artifact's world gets ``window.studio`` (:data:`STUDIO_API_JS`). Each call is one JSON request
handed, as a DOM event, to a script in Qt's isolated ApplicationWorld (:data:`STUDIO_GLUE_JS`), which
alone holds the page's QWebChannel: the artifact never touches the channel or another page's calls.
Every :class:`~studio.web.page.ArtifactPage` gets a :class:`BridgeEndpoint`; the endpoint hands
validated calls to the profile's :class:`BridgeHost` (set with :func:`attach_bridge`), which decides
(consent, budget, queue) and answers through the endpoint. A page with no host rejects every call.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

import shiboken6
from PySide6.QtCore import QFile, QIODevice, QObject, Signal, Slot
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineScript

from studio.core.bridge import BridgeCall, BridgeError, parse_request
from studio.core.serving import SCHEME

log = logging.getLogger(__name__)

REQUEST_EVENT = "studio-bridge-request"
ANSWER_EVENT = "studio-bridge-answer"
NOT_HERE = "window.studio: the model is not available in this view"

# The artifact's API (main world, main frame). Answers are matched by id; ids start at a random
# number so a late answer meant for the page before a reload never reaches the next one.
STUDIO_API_JS = """
(() => {
  if (window.studio) return;
  const REQ = "__REQ__", ANS = "__ANS__";
  let next = 1 + Math.floor(Math.random() * 2 ** 40);
  const calls = new Map();
  window.addEventListener(ANS, (e) => {
    let a; try { a = JSON.parse(String(e.detail)); } catch (err) { return; }
    const c = a && calls.get(a.id);
    if (!c) return;
    if (a.type === "chunk") { c.chunk(String(a.text)); return; }
    calls.delete(a.id);
    if (a.type === "done") c.done(String(a.text)); else c.fail(new Error(String(a.text)));
  });
  const send = (kind, input, options, handlers) => {
    const id = next++;
    const detail = JSON.stringify({id, kind, input, options: options === undefined ? null : options});
    calls.set(id, handlers);
    window.dispatchEvent(new CustomEvent(REQ, {detail}));
    return id;
  };
  const cancel = (id) => {
    if (calls.delete(id)) window.dispatchEvent(new CustomEvent(REQ, {detail: JSON.stringify({id, kind: "cancel"})}));
  };
  const complete = (input, options) => new Promise((resolve, reject) => {
    send("complete", input, options, {chunk() {}, done: resolve, fail: reject});
  });
  const stream = (input, options) => {
    const queue = [];
    let waiter = null, ended = false, error = null;
    const wake = () => {
      if (!waiter) return;
      const w = waiter;
      if (queue.length) { waiter = null; w.resolve({value: queue.shift(), done: false}); }
      else if (error) { waiter = null; w.reject(error); }
      else if (ended) { waiter = null; w.resolve({value: undefined, done: true}); }
    };
    const id = send("stream", input, options, {
      chunk(t) { queue.push(t); wake(); },
      done() { ended = true; wake(); },
      fail(e) { error = e; wake(); },
    });
    return {
      [Symbol.asyncIterator]() { return this; },
      next() {
        if (queue.length) return Promise.resolve({value: queue.shift(), done: false});
        if (error) { const e = error; error = null; ended = true; return Promise.reject(e); }
        if (ended) return Promise.resolve({value: undefined, done: true});
        return new Promise((resolve, reject) => { waiter = {resolve, reject}; });
      },
      return() { ended = true; cancel(id); return Promise.resolve({value: undefined, done: true}); },
    };
  };
  Object.defineProperty(window, "studio", {value: Object.freeze({available: true, complete, stream}),
                                           enumerable: true});
})();
""".replace("__REQ__", REQUEST_EVENT).replace("__ANS__", ANSWER_EVENT)

# The isolated world's half: relays requests to the channel and answers back to the page.
STUDIO_GLUE_JS = (
    """
(() => {
  const REQ = "__REQ__", ANS = "__ANS__", NOT_HERE = __NOT_HERE__;
  const answer = (text) => window.dispatchEvent(new CustomEvent(ANS, {detail: text}));
  let bridge = null;
  const early = [];
  const refuse = (text) => {
    try { const r = JSON.parse(text); if (r && r.kind !== "cancel") answer(JSON.stringify({id: r.id, type: "error", text: NOT_HERE})); }
    catch (e) {}
  };
  const hasChannel = typeof qt !== "undefined" && qt.webChannelTransport && typeof QWebChannel !== "undefined";
  window.addEventListener(REQ, (e) => {
    const text = typeof e.detail === "string" ? e.detail : "";
    if (bridge) bridge.call(text);
    else if (!hasChannel || early.length >= 64) refuse(text);
    else early.push(text);
  });
  if (!hasChannel) return;
  new QWebChannel(qt.webChannelTransport, (channel) => {
    const b = channel.objects.studioBridge;
    if (!b) { for (const t of early.splice(0)) refuse(t); return; }
    b.answer.connect(answer);
    bridge = b;
    for (const t of early.splice(0)) b.call(t);
  });
})();
""".replace("__REQ__", REQUEST_EVENT)
    .replace("__ANS__", ANSWER_EVENT)
    .replace("__NOT_HERE__", json.dumps(NOT_HERE))
)


def _qwebchannel_js() -> str:
    f = QFile(":/qtwebchannel/qwebchannel.js")
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        log.error("qwebchannel.js is missing from the Qt resources: window.studio will reject")
        return ""
    return bytes(f.readAll().data()).decode("utf-8")


def bridge_scripts() -> list[QWebEngineScript]:
    """The two scripts every artifact profile carries (main frame only)."""
    scripts = []
    for name, source, world in (
        ("studio-api", STUDIO_API_JS, QWebEngineScript.ScriptWorldId.MainWorld),
        ("studio-glue", _qwebchannel_js() + STUDIO_GLUE_JS, QWebEngineScript.ScriptWorldId.ApplicationWorld),
    ):
        script = QWebEngineScript()
        script.setName(name)
        script.setSourceCode(source)
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(world)
        script.setRunsOnSubFrames(False)
        scripts.append(script)
    return scripts


class BridgeHost(Protocol):
    """Serves the calls of every page of a profile (the window's bridge service, the checker's denial)."""

    def submit(self, endpoint: BridgeEndpoint, call: BridgeCall) -> None:
        """A validated call arrived; answer it through ``endpoint`` (resolve, chunk, reject)."""

    def cancel(self, endpoint: BridgeEndpoint, call_id: int) -> None:
        """The page no longer wants call ``call_id`` (its stream's loop was left)."""

    def run_ended(self, endpoint: BridgeEndpoint) -> None:
        """The page's run ended (a reload, another page, the page deleted): drop its calls."""


def attach_bridge(profile: QWebEngineProfile, host: BridgeHost | None) -> None:
    """Let ``host`` serve the model calls of every artifact page of ``profile`` (None: reject them)."""
    profile.artifact_bridge = host  # type: ignore[attr-defined]


def bridge_host(profile: QWebEngineProfile) -> BridgeHost | None:
    """The host attached to ``profile`` (None: calls are rejected)."""
    return getattr(profile, "artifact_bridge", None)


class BridgeEndpoint(QObject):
    """A page's end of the channel: takes its requests, carries answers back to it.

    Args:
        page: the artifact page (the endpoint is its child).
        profile: the page's profile (whose host answers).

    Attributes:
        run: counts the page's loads; answers for calls of an earlier run are dropped.

    Signals:
        answer(str): JSON ``{id, type: "chunk"|"done"|"error", text}`` to the page (QWebChannel).
    """

    answer = Signal(str)

    def __init__(self, page: QWebEnginePage, profile: QWebEngineProfile) -> None:
        super().__init__(page)
        self.page = page
        # Never page.profile(): PySide then ties the profile's wrapper to the page, and deleting the
        # page invalidates it (the SandboxView keeps its profile for the same reason).
        self.profile = profile
        self.run = 0
        self._open: set[int] = set()  # calls of this run not answered yet
        self.channel = QWebChannel(self)
        self.channel.registerObject("studioBridge", self)
        page.setWebChannel(self.channel, QWebEngineScript.ScriptWorldId.ApplicationWorld)
        page.loadStarted.connect(self.end_run)
        page.destroyed.connect(self._page_gone)

    @property
    def artifact_id(self) -> str:
        """The artifact the page shows (its origin's host); '' when it shows none."""
        url = self.page.url()
        return url.host() if url.scheme() == SCHEME else ""

    @property
    def title(self) -> str:
        """The page's title (the artifact's own words: one line, at most 60 characters) or its id."""
        title = " ".join((self.page.title() or self.artifact_id).split())
        return title if len(title) <= 60 else title[:59] + "…"

    @Slot(str)
    def call(self, text: str) -> None:
        """One request from the page (JSON text; untrusted)."""
        host = self._host()
        cancel_id = _cancel_id(text)
        if cancel_id is not None:
            if cancel_id in self._open and host is not None:
                host.cancel(self, cancel_id)
            return
        try:
            call = parse_request(text)
        except BridgeError as exc:
            call_id = _loose_id(text)
            if call_id is not None:
                self._send(call_id, "error", str(exc))
            self.note("warning", str(exc))
            return
        if not self.artifact_id or call.call_id in self._open:
            self._send(call.call_id, "error", NOT_HERE)
            return
        if host is None:
            self._send(call.call_id, "error", NOT_HERE)
            return
        self._open.add(call.call_id)
        host.submit(self, call)

    def chunk(self, call_id: int, text: str) -> None:
        """A piece of a stream's text."""
        if call_id in self._open and text:
            self._send(call_id, "chunk", text)

    def resolve(self, call_id: int, text: str) -> None:
        """The call's end: ``complete`` resolves with ``text``, a stream ends."""
        if call_id in self._open:
            self._open.discard(call_id)
            self._send(call_id, "done", text)

    def reject(self, call_id: int, message: str) -> None:
        """The call's end with an error: the promise (or the stream's next()) rejects with ``message``."""
        if call_id in self._open:
            self._open.discard(call_id)
            self._send(call_id, "error", message)

    def is_open(self, call_id: int) -> bool:
        return call_id in self._open

    def note(self, level: str, message: str) -> None:
        """An entry in the page's console strip (when the page has one)."""
        note = getattr(self.page, "note", None)
        if callable(note):
            note(level, message, self.page.url().toString())

    @Slot()
    def end_run(self) -> None:
        """The page reloads, loads another page or goes: its calls end, unanswered."""
        self.run += 1
        self._open.clear()
        host = self._host()
        if host is not None:
            host.run_ended(self)

    def _page_gone(self) -> None:
        self.end_run()

    def _host(self) -> BridgeHost | None:
        return bridge_host(self.profile) if shiboken6.isValid(self.profile) else None

    def _send(self, call_id: int, kind: str, text: str) -> None:
        self.answer.emit(json.dumps({"id": call_id, "type": kind, "text": text}))


def _cancel_id(text: str) -> int | None:
    if len(text) > 200 or '"cancel"' not in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("kind") == "cancel":
        return _int(data.get("id"))
    return None


def _loose_id(text: str) -> int | None:
    try:
        data = json.loads(text) if len(text) <= 1_000_000 else None
    except (ValueError, RecursionError):
        return None
    return _int(data.get("id")) if isinstance(data, dict) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class DenyingHost(QObject):
    """A host that never runs the model: each call is rejected and reported (the check, the probe).

    Args:
        reason: what the rejection says.
        report: also note each call in the page's console.

    Attributes:
        calls: how many calls were made.
    """

    def __init__(self, reason: str, parent: QObject | None = None, *, report: bool = True) -> None:
        super().__init__(parent)
        self.reason = reason
        self.report = report
        self.calls = 0

    def submit(self, endpoint: BridgeEndpoint, call: BridgeCall) -> None:
        self.calls += 1
        if self.report:
            endpoint.note("warning", f"window.studio.{call.kind}() called: denied ({self.reason})")
        endpoint.reject(call.call_id, f"window.studio: {self.reason}")

    def cancel(self, endpoint: BridgeEndpoint, call_id: int) -> None:
        """Nothing runs, nothing to cancel."""

    def run_ended(self, endpoint: BridgeEndpoint) -> None:
        """Nothing runs, nothing to drop."""


__all__ = [
    "BridgeEndpoint",
    "BridgeHost",
    "DenyingHost",
    "attach_bridge",
    "bridge_host",
    "bridge_scripts",
]
