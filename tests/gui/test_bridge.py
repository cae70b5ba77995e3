"""window.studio: artifacts call the local model through the window's bridge (consent, budget, queue, Stop).

The transport, the page API, the consent bar and the queue are real (QtWebEngine, QWebChannel, the
window's controller); text comes from the tiny random MLX model where only its shape matters, from the
scripted engine where the test needs an exact length or a stream slow enough to stop, and from the
real SmolLM2 (``real_model``) for a non-empty completion.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt, QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

from studio.core.bridge import EXPORTED, NOT_ALLOWED, RunBudget
from studio.core.export import export_html
from studio.core.serving import host_for
from studio.ui.bridgeui import INTERRUPTED, STOPPED
from studio.ui.mainwindow import MainWindow
from tests.gui.scripted import ScriptedEngine
from tests.gui.test_window import run_js, shown_page

WAIT_MS = 120_000  # generous: a loaded 2-core machine; never reached when things work

PAGE = """<!DOCTYPE html><html><head><title>Quiz maker</title></head><body><p>quiz</p><script>
window.log = [];
window.go = async (kind, input, opts) => {
  const rec = {kind, chunks: [], text: null, error: null, done: false};
  window.log.push(rec);
  try {
    if (kind === "complete") rec.text = await window.studio.complete(input, opts);
    else for await (const t of window.studio.stream(input, opts)) rec.chunks.push(t);
  } catch (e) { rec.error = String(e && e.message); }
  rec.done = true;
};
window.loop = async (n, opts) => {
  window.loopOut = {ok: 0, error: null};
  for (let i = 0; i < n; i++) {
    try { await window.studio.complete("again", opts); window.loopOut.ok++; }
    catch (e) { window.loopOut.error = String(e.message); break; }
  }
  window.loopOut.done = true;
};
</script></body></html>"""
ARTIFACT = "quiz-maker"


class Artifact:
    """The artifact page on screen, and the calls it made (``window.log``)."""

    def __init__(self, qtbot, window: MainWindow, artifact_id: str = ARTIFACT) -> None:  # type: ignore[no-untyped-def]
        self.qtbot, self.w = qtbot, window
        window.pane.show_artifact(artifact_id, PAGE, title="Quiz maker", kind="html", final=True)
        qtbot.waitUntil(lambda: window.pane._front.render is not None, timeout=WAIT_MS)
        self.page = shown_page(qtbot, window)
        qtbot.waitUntil(
            lambda: run_js(qtbot, self.page, "return typeof window.go") == "function", timeout=WAIT_MS
        )
        self.host = host_for(artifact_id)

    def call(self, kind: str, prompt: object, opts: dict | None = None) -> int:
        args = ", ".join(json.dumps(a) for a in (kind, prompt, opts or {}))
        return int(run_js(self.qtbot, self.page, f"window.go({args}); return window.log.length - 1"))

    def record(self, i: int) -> dict:
        return run_js(self.qtbot, self.page, f"return window.log[{i}]")

    def result(self, i: int) -> dict:
        self.qtbot.waitUntil(lambda: self.record(i)["done"], timeout=WAIT_MS)
        return self.record(i)


def loaded(qtbot, model_window, engine, path: str = "models/scripted") -> MainWindow:  # type: ignore[no-untyped-def]
    window = model_window(engine)
    assert window.controller is not None
    with qtbot.waitSignal(window.controller.loaded, timeout=WAIT_MS):
        window.controller.load(path)
    return window


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    pytest.importorskip("mlx_lm")
    import tiny_model as module

    root = os.environ.get("STUDIO_TEST_MODELS") or tmp_path_factory.mktemp("models")
    return str(module.cached_tiny_model(Path(root)))


def test_the_first_call_asks_allow_runs_it_on_the_tiny_model_and_is_remembered(  # type: ignore[no-untyped-def]
    qtbot, model_window, tiny_model, tmp_path
) -> None:
    from studio.engine.mlx import MLXEngine

    w = loaded(qtbot, model_window, MLXEngine(), tiny_model)
    art = Artifact(qtbot, w)
    bar = w.bridge.bar
    requests: list[str] = []
    deltas: list[str] = []
    w.controller.started.connect(requests.append)
    w.controller.delta.connect(lambda rid, text: deltas.append(text) if rid.startswith("bridge-") else None)
    first = art.call("complete", "Write a quiz question.", {"max_tokens": 12, "temperature": 0})
    qtbot.waitUntil(lambda: w.bridge.asking is not None and bar.isVisible(), timeout=WAIT_MS)
    assert "Quiz maker" in bar.label.text() and "wants to use the model" in bar.label.text()
    assert bar.allow.isVisible() and bar.deny.isVisible()
    assert requests == [] and not w.controller.busy  # no model call before the user answers
    bar.allow.click()
    done = art.result(first)
    assert done["error"] is None and isinstance(done["text"], str)  # random weights: the shape, not the words
    assert done["text"] == "".join(deltas)
    assert len(requests) == 1
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["model_access"] == {art.host: True}
    # Remembered: the next call (a stream) runs without a question; its chunks come in order and it ends.
    deltas.clear()
    streamed = art.call("stream", [{"role": "user", "content": "Another one."}], {"max_tokens": 16})
    record = art.result(streamed)
    assert record["error"] is None and record["chunks"] == deltas and len(requests) == 2
    assert w.bridge.asking is None and not bar.isVisible()


def test_deny_rejects_the_call_and_the_next_ones_without_asking(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["never"])
    w = loaded(qtbot, model_window, engine)
    art = Artifact(qtbot, w)
    first = art.call("complete", "hello")
    qtbot.waitUntil(lambda: w.bridge.asking is not None, timeout=WAIT_MS)
    w.bridge.bar.deny.click()
    assert art.result(first)["error"] == NOT_ALLOWED
    again = art.call("stream", "hello")
    assert art.result(again)["error"] == NOT_ALLOWED
    assert w.bridge.asking is None and engine.requests == []
    # The Settings dialog forgets the answer: the artifact is asked again.
    dialog = w.open_settings_dialog()
    assert "1 denied" in dialog.model_access.text()
    dialog.forget_access.click()
    dialog.accept()
    assert w.prefs.saved.model_access == {}
    third = art.call("complete", "hello")
    qtbot.waitUntil(lambda: w.bridge.asking is not None, timeout=WAIT_MS)
    w.bridge.bar.allow.click()
    assert art.result(third) == {**art.record(third), "text": "never", "error": None}


def test_the_run_budget_stops_a_loop_of_calls(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["x" * 64], chunk_chars=1, delay=0)  # every call spends exactly max_tokens
    w = loaded(qtbot, model_window, engine)
    w.bridge.make_budget = lambda: RunBudget(tokens=32)
    art = Artifact(qtbot, w)
    w.bridge.consent.set(art.host, True)
    run_js(qtbot, art.page, "window.loop(100, {max_tokens: 8}); return 1")
    qtbot.waitUntil(lambda: bool(run_js(qtbot, art.page, "return window.loopOut.done")), timeout=WAIT_MS)
    out = run_js(qtbot, art.page, "return window.loopOut")
    assert out["ok"] == 4 and len(engine.requests) == 4  # 4 x 8 tokens: the 5th call is refused
    assert "token budget is spent" in out["error"]
    # A reload is a new run with a new budget.
    w.pane.reload()
    qtbot.waitUntil(
        lambda: run_js(qtbot, shown_page(qtbot, w), "return typeof window.go") == "function", timeout=WAIT_MS
    )
    art.page = shown_page(qtbot, w)
    assert art.result(art.call("complete", "fresh", {"max_tokens": 8}))["error"] is None


def test_stop_cancels_an_in_flight_stream_and_the_runs_later_calls(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["y" * 4000], chunk_chars=1, delay=0.05)  # ~50 s: Stop comes long before
    w = loaded(qtbot, model_window, engine)
    art = Artifact(qtbot, w)
    w.bridge.consent.set(art.host, True)
    i = art.call("stream", "a long story", {"max_tokens": 1000})
    qtbot.waitUntil(lambda: len(art.record(i)["chunks"]) > 0, timeout=WAIT_MS)
    bar = w.bridge.bar
    assert bar.isVisible() and bar.stop.isVisible() and "is using the model" in bar.label.text()
    with qtbot.waitSignal(w.controller.finished, timeout=WAIT_MS) as ended:
        bar.stop.click()
    assert ended.args[1].finish_reason == "cancelled"
    record = art.result(i)
    assert record["error"] == STOPPED and 0 < len(record["chunks"]) < 1000
    assert engine.produced < 1000 and not w.controller.busy and not bar.isVisible()
    assert "stopped this artifact's model use" in art.result(art.call("complete", "again"))["error"]


def test_calls_queue_behind_a_chat_answer_and_a_chat_answer_goes_first(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(
        ["chat answer " * 20, "bridge answer", "z" * 4000, "chat again"], chunk_chars=2, delay=0.02
    )
    w = loaded(qtbot, model_window, engine)
    art = Artifact(qtbot, w)
    w.bridge.consent.set(art.host, True)
    w.send("hello")
    assert w.busy
    queued = art.call("complete", "summarise")
    qtbot.waitUntil(lambda: w.bridge.waiting == 1, timeout=WAIT_MS)
    assert w.bridge.current is None and len(engine.requests) == 1  # it waits for the chat's answer
    assert art.result(queued)["text"] == "bridge answer"
    assert [m[-1]["content"] for m in engine.requests] == ["hello", "summarise"]
    # A chat answer asked for while a call runs: the call gives way (rejected), the answer runs.
    running = art.call("stream", "long")
    qtbot.waitUntil(lambda: len(art.record(running)["chunks"]) > 0, timeout=WAIT_MS)
    w.send("more")
    assert art.result(running)["error"] == INTERRUPTED
    qtbot.waitUntil(lambda: not w.busy, timeout=WAIT_MS)
    assert engine.requests[-1][-1]["content"] == "more"
    assert w.session.answer_text() == "chat again"


def test_a_call_made_while_the_model_loads_runs_once_it_is_loaded(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    engine = ScriptedEngine(["loaded answer"], load_gate=gate)
    w = model_window(engine)
    with qtbot.waitSignal(w.controller.loading, timeout=WAIT_MS):
        w.controller.load("models/scripted")
    art = Artifact(qtbot, w)
    w.bridge.consent.set(art.host, True)
    i = art.call("complete", "hello")
    qtbot.waitUntil(lambda: w.bridge.waiting == 1, timeout=WAIT_MS)
    assert engine.requests == [] and not art.record(i)["done"]
    gate.set()
    assert art.result(i)["text"] == "loaded answer"


def test_the_question_shows_the_artifacts_title_as_plain_text(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    w = loaded(qtbot, model_window, ScriptedEngine(["never"]))
    art = Artifact(qtbot, w)
    run_js(qtbot, art.page, 'document.title = "<b>Bank</b>\\n" + "x".repeat(500); return 1')
    qtbot.waitUntil(lambda: art.page.title().startswith("<b>"), timeout=WAIT_MS)
    art.call("complete", "hello")
    qtbot.waitUntil(lambda: w.bridge.asking is not None, timeout=WAIT_MS)
    label = w.bridge.bar.label
    assert label.textFormat() == Qt.TextFormat.PlainText and "<b>Bank</b>" in label.text()
    assert len(label.text()) < 160 and "\n" not in label.text()


def test_an_app_window_gets_the_bridge_and_its_own_question(qtbot, model_window, artifact_server) -> None:  # type: ignore[no-untyped-def]
    from studio.ui.appwindow import AppWindow
    from studio.ui.bridgeui import BridgeBar

    w = loaded(qtbot, model_window, ScriptedEngine(["app answer"]))
    app = AppWindow(artifact_server, w.pane_profile, "quiz-app", "Quiz maker", PAGE)
    app.show()
    try:
        page = app.page
        qtbot.waitUntil(lambda: run_js(qtbot, page, "return typeof window.go") == "function", timeout=WAIT_MS)
        run_js(qtbot, page, 'window.go("complete", "hi"); return 1')
        (bar,) = app.findChildren(BridgeBar)
        qtbot.waitUntil(lambda: bar.isVisible() and bar.allow.isVisible(), timeout=WAIT_MS)
        bar.allow.click()
        qtbot.waitUntil(lambda: run_js(qtbot, page, "return window.log[0].done"), timeout=WAIT_MS)
        assert run_js(qtbot, page, "return window.log[0].text") == "app answer"
        assert w.bridge.consent.get(host_for("quiz-app")) is True
    finally:
        app.close()


def test_another_artifact_shown_ends_the_run_and_cancels_its_generation(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["w" * 4000], chunk_chars=1, delay=0.05)
    w = loaded(qtbot, model_window, engine)
    art = Artifact(qtbot, w)
    w.bridge.consent.set(art.host, True)
    i = art.call("stream", "long", {"max_tokens": 1000})
    qtbot.waitUntil(lambda: len(art.record(i)["chunks"]) > 0, timeout=WAIT_MS)
    with qtbot.waitSignal(w.controller.finished, timeout=WAIT_MS) as ended:
        w.pane.show_artifact("other", "<p>other</p>", title="Other", kind="html", final=True)
    assert ended.args[1].finish_reason == "cancelled" and engine.produced < 1000
    assert w.bridge.current is None and w.bridge.waiting == 0


def test_bad_arguments_reject_with_a_clear_message(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    w = loaded(qtbot, model_window, ScriptedEngine(["never"]))
    art = Artifact(qtbot, w)
    for prompt, opts, message in (
        (42, {}, "must be a string or an array of messages"),
        ([{"role": "tool", "content": "x"}], {}, "each message is"),
        ("x" * 20_000, {}, "longer than"),
        ("hi", {"max_tokens": -3}, "max_tokens must be a positive number"),
        ("hi", {"temperature": "hot"}, "temperature must be a number"),
    ):
        assert message in art.result(art.call("complete", prompt, opts))["error"]
    assert w.bridge.asking is None and w.bridge.waiting == 0


def test_an_exported_file_rejects_with_a_clear_message_and_can_feature_detect(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    html = export_html(PAGE, {}, runtime=False)
    profile = QWebEngineProfile()  # a plain browser: no app, no window.studio of its own
    page = QWebEnginePage(profile)
    try:
        with qtbot.waitSignal(page.loadFinished, timeout=WAIT_MS):
            page.setHtml(html, QUrl("https://example.invalid/quiz.html"))
        assert run_js(qtbot, page, "return window.studio.available") is False
        run_js(qtbot, page, 'window.go("complete", "hi"); window.go("stream", "hi"); return 1')
        qtbot.waitUntil(lambda: run_js(qtbot, page, "return window.log.every(r => r.done)"), timeout=WAIT_MS)
        assert run_js(qtbot, page, "return window.log.map(r => r.error)") == [EXPORTED, EXPORTED]
    finally:
        shiboken6.delete(page)
        qapp.processEvents()
        shiboken6.delete(profile)


def test_the_checker_denies_calls_without_asking_and_reports_them(tmp_path) -> None:
    from studio.web.checker import check_file, summary

    path = tmp_path / "uses-model.html"
    path.write_text(PAGE.replace("</script>", 'window.go("complete", "hi");</script>'), encoding="utf-8")
    report = check_file(path, wait_ms=500, probe=False)
    assert report["model_calls"] == 1
    assert any("window.studio.complete() called: denied" in e["message"] for e in report["console"])
    assert "model calls: 1" in summary(path, report)


@pytest.mark.real_model
def test_the_real_model_completes_an_artifacts_call(qtbot, model_window, real_model) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("llama_cpp", reason="pip install 'artifacts-studio[llamacpp]'")
    from studio.engine.llamacpp import LlamaCppEngine

    w = loaded(qtbot, model_window, LlamaCppEngine(), str(real_model.gguf))
    art = Artifact(qtbot, w)
    w.bridge.consent.set(art.host, True)
    done = art.result(art.call("complete", "Name one fruit.", {"max_tokens": 24, "temperature": 0}))
    assert done["error"] is None and done["text"].strip()
