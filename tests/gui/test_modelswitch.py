"""Choosing a model in the running window: the controller is swapped, the GUI never waits.

The scripted engine (UI tests only) stands in where a slow load or a failing one is needed; one test
switches to a REAL MLX engine on the tiny model.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable

import pytest
import tiny_model
from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

from studio.engine.base import GenerationParams
from studio.models import catalog
from studio.models.sysinfo import memory
from tests.gui.scripted import ScriptedEngine


class Ticker:
    """A 10 ms QTimer on the GUI thread; records the gaps between its ticks."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))
        self.timer.start()

    def stop(self) -> float:
        """Stop; return the longest gap in ms."""
        self.timer.stop()
        gaps = [b - a for a, b in zip(self.times, self.times[1:], strict=False)]
        return max(gaps, default=0.0) * 1000


def scripted(**kw: object) -> tuple[Callable[..., ScriptedEngine], list[ScriptedEngine]]:
    """A factory making scripted engines (it records each, and the options it was given)."""
    made: list[ScriptedEngine] = []

    def factory(name: str, model: str | None = None, **options: object) -> ScriptedEngine:
        engine = ScriptedEngine(["Hello from the new model."], **kw)  # type: ignore[arg-type]
        engine.options = options  # type: ignore[attr-defined]
        made.append(engine)
        return engine

    return factory, made


def test_choosing_a_model_swaps_in_a_controller_and_the_gui_keeps_ticking(
    qtbot, model_window, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    factory, engines = scripted(load_delay=0.8)
    win = model_window(factory=factory)
    assert win.models.welcome_shown and not win.composer.isVisible()
    ticker = Ticker()
    t0 = time.perf_counter()
    with qtbot.waitSignal(win.models.switched, timeout=10_000) as got:
        win.models.choose("scripted", "/models/demo-model", {"device": "cpu"})
        returned = (time.perf_counter() - t0) * 1000
        assert win.status.model_label.text() == "Loading model demo-model…"
    worst = ticker.stop()
    assert returned < 100, f"choose() blocked the GUI for {returned:.0f} ms"
    assert len(ticker.times) >= 40 and worst < 250, (len(ticker.times), worst)  # ticking through a 0.8 s load
    ctl = got.args[0]
    assert win.controller is ctl and ctl.engine is engines[0]
    assert engines[0].options == {"device": "cpu"}  # type: ignore[attr-defined]
    assert win.status.model_label.text() == "demo-model (scripted)"
    assert not win.models.welcome_shown and win.composer.isVisible()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert (saved["model"], saved["engine"], saved["device"]) == ("/models/demo-model", "scripted", "cpu")
    assert win.prefs.saved.model == "/models/demo-model"
    with qtbot.waitSignal(ctl.finished, timeout=10_000):
        win.send("hi", [])
    assert win.conversation.path()[-1].content == "Hello from the new model."


def test_switching_while_answering_stops_the_answer_and_retires_the_old_engine(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    old_engine = ScriptedEngine(["x" * 4000], chunk_chars=1, delay=0.01)
    win = model_window(old_engine)
    old = win.controller
    assert old is not None and not win.models.welcome_shown
    with qtbot.waitSignal(old.loaded, timeout=5000):
        old.load("/models/old")
    win.turns.params = GenerationParams(max_tokens=100_000)
    win.send("long answer please", [])
    qtbot.waitUntil(lambda: len(win.chat.plain_text()) > 20, timeout=5000)
    factory, _ = scripted()
    win.models.engine_factory = factory
    ticker = Ticker()
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        win.models.switch("scripted", "/models/new", {})
    qtbot.waitUntil(lambda: not old.worker_thread.isRunning(), timeout=5000)
    worst = ticker.stop()
    assert win.conversation.path()[-1].finish_reason == "cancelled" and not win.busy
    assert old_engine.closed and not win.models.retiring
    assert win.models.last_retire_ms < 200 and worst < 300, (win.models.last_retire_ms, worst)
    assert win.controller is not old and win.status.model_label.text() == "new (scripted)"


def test_a_load_failure_shows_the_error_and_brings_the_welcome_back(qtbot, model_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    factory, _ = scripted()
    win = model_window(factory=factory)
    with qtbot.waitSignal(win.models.switchFailed, timeout=10_000) as got:
        win.models.choose("scripted", "missing-model", {})
    assert got.args[0] == "no model folder at missing-model"
    assert "The model could not be loaded: no model folder at missing-model" in win.chat.plain_text()
    assert win.models.welcome_shown and "no model folder at missing-model" in win.models.welcome.error.text()
    assert win.controller is None and win.status.model_label.text() == "Model not loaded"
    assert not (tmp_path / "settings.json").exists()  # a choice that failed is not saved
    qtbot.waitUntil(lambda: not win.models.retiring, timeout=5000)


def test_an_unknown_engine_fails_in_one_line_without_a_controller(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    win = model_window()  # the real registry
    with qtbot.waitSignal(win.models.switchFailed, timeout=10_000) as got:
        win.models.choose("no-such-engine", "/models/x", {})
    assert got.args[0].startswith("unknown engine 'no-such-engine'")
    assert win.models.welcome_shown and win.controller is None


def test_a_catalog_model_that_will_not_fit_asks_before_loading(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    entry = catalog.find("cuda:32B:bf16")
    assert entry is not None
    warning = catalog.fit_warning(entry, memory())
    if warning is None:
        pytest.skip("this machine fits a 32B bf16 model")
    factory, engines = scripted()
    win = model_window(factory=factory)
    box = win.models.choose("scripted", "/models/big", {"catalog_id": entry.id})
    assert isinstance(box, QMessageBox) and box.isVisible() and box.text() == warning
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(50)
    assert engines == [] and win.controller is None
    box = win.models.choose("scripted", "/models/big", {"catalog_id": entry.id})
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        next(b for b in box.buttons() if b.text() == "Load anyway").click()
    assert len(engines) == 1 and win.status.model_label.text() == "big (scripted)"


def test_model_menu_opens_the_picker_with_ctrl_m(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    win = model_window()
    assert win.menu_actions.model.shortcut() == QKeySequence("Ctrl+M")
    picker = win.models.open_picker()
    qtbot.waitUntil(lambda: picker.info is not None, timeout=20_000)
    assert picker.isVisible() and picker.windowModality() != 0
    picker.reject()


def test_switching_to_a_real_mlx_engine_on_the_tiny_model(qtbot, model_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("mlx_lm")
    tiny = tiny_model.cached_tiny_model(tmp_path / "models")
    win = model_window()  # the real create_engine
    ticker = Ticker()
    with qtbot.waitSignal(win.models.switched, timeout=60_000) as got:
        win.models.choose("mlx", str(tiny), {})
    worst = ticker.stop()
    print(f"worst GUI tick gap while MLX loaded the tiny model: {worst:.0f} ms")
    assert worst < 300, worst
    ctl = got.args[0]
    assert ctl.engine.name == "mlx" and win.status.model_label.text() == f"{tiny.name} (mlx)"
    with qtbot.waitSignal(ctl.finished, timeout=60_000) as done:
        win.send("hi", [])
    assert done.args[1].finish_reason in ("stop", "length") and done.args[1].generated_tokens > 0
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert (saved["model"], saved["engine"]) == (str(tiny), "mlx")
    # Switching away joins the MLX thread only after the engine is idle: the GUI waits just for close().
    factory, _ = scripted()
    win.models.engine_factory = factory
    ticker = Ticker()
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        win.models.choose("scripted", "/models/next", {})
    qtbot.waitUntil(lambda: not ctl.worker_thread.isRunning(), timeout=10_000)
    worst = ticker.stop()
    print(f"MLX retire blocked the GUI {win.models.last_retire_ms:.1f} ms; worst tick gap {worst:.0f} ms")
    assert ctl.engine.model is None and win.models.last_retire_ms < 500 and worst < 600


def test_a_switch_keeps_the_settings_speculative_decoding(qtbot, model_window) -> None:  # type: ignore[no-untyped-def]
    """A model chosen in the window gets the same prompt lookup / draft model as one loaded at start-up."""
    factory, engines = scripted()
    win = model_window(factory=factory)
    win.prefs.saved = dataclasses.replace(win.prefs.saved, prompt_lookup=True, draft_model="/models/draft")
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        win.models.switch("scripted", "/models/a", {"device": "cpu"})
    assert engines[0].options == {"device": "cpu", "prompt_lookup": True, "draft_model": "/models/draft"}  # type: ignore[attr-defined]
    win.prefs.overridden["prompt_lookup"] = False  # this session's --no-prompt-lookup flag wins
    with qtbot.waitSignal(win.models.switched, timeout=10_000):
        win.models.switch("scripted", "/models/b", {"draft_model": "/models/other"})  # the choice wins
    assert engines[1].options == {"prompt_lookup": False, "draft_model": "/models/other"}  # type: ignore[attr-defined]
