"""GenerationController: the engine on one worker thread, batched deltas, stop, errors, shutdown."""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engine.base import EngineError, GenerationParams
from studio.ui.generation import FRAME_MS, GenerationController
from tests.gui.scripted import ScriptedEngine

MESSAGES = [{"role": "user", "content": "make a page"}]


@pytest.fixture
def make_controller(qtbot) -> Iterator:  # type: ignore[no-untyped-def]
    made: list[GenerationController] = []

    def make(engine: ScriptedEngine) -> GenerationController:
        ctl = GenerationController(engine)
        made.append(ctl)
        return ctl

    yield make
    for ctl in made:
        ctl.shutdown()
        assert not ctl.worker_thread.isRunning()


class _Recorder:
    def __init__(self, ctl: GenerationController) -> None:
        self.deltas: list[tuple[float, str]] = []
        self.finished: list[tuple[str, object]] = []
        ctl.delta.connect(lambda rid, text: self.deltas.append((time.perf_counter(), text)))
        ctl.finished.connect(lambda rid, chunk: self.finished.append((rid, chunk)))

    @property
    def text(self) -> str:
        return "".join(t for _, t in self.deltas)


def test_load_and_generate_run_on_one_worker_thread_not_the_gui(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    engine = ScriptedEngine(["hello world"], load_gate=gate)
    ctl = make_controller(engine)
    with qtbot.waitSignal(ctl.loaded, timeout=5000) as blocker:
        ctl.load("models/tiny")
        # load() returned while the engine's load is held: the GUI thread never waits for it.
        assert ctl.is_loading and not gate.is_set()
        gate.set()
    assert blocker.args[0].name == "tiny"
    assert not ctl.is_loading
    rec = _Recorder(ctl)
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        assert ctl.generate("r1", MESSAGES)
    assert rec.text == "hello world"
    assert rec.finished[0][0] == "r1"
    assert rec.finished[0][1].finish_reason == "stop"
    assert engine.requests == [MESSAGES]
    assert len(engine.threads) == 1
    assert threading.get_ident() not in engine.threads


def test_deltas_are_batched_per_frame(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    answer = "".join(f"line {i}: <div>token</div>\n" for i in range(400))
    engine = ScriptedEngine([answer], chunk_chars=2, delay=0.0002)
    ctl = make_controller(engine)
    rec = _Recorder(ctl)
    t0 = time.perf_counter()
    with qtbot.waitSignal(ctl.finished, timeout=20000):
        ctl.generate("r", MESSAGES, GenerationParams(max_tokens=100_000))
    elapsed = time.perf_counter() - t0
    chunks = len(answer) // 2
    assert rec.text == answer
    # Never one update per token: at most one per frame (plus the final flush).
    assert len(rec.deltas) <= elapsed * 1000 / FRAME_MS + 2
    assert len(rec.deltas) < chunks / 5
    # Paced by a frame timer: a late tick may be followed by an early one (on a loaded machine now and
    # then a close pair), but they are rare, and the median gap is a frame.
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(rec.deltas)][:-1]
    assert sum(g < 0.004 for g in gaps) <= max(1, len(gaps) // 20), gaps
    assert statistics.median(gaps) > (FRAME_MS - 2) / 1000, gaps


def test_stop_ends_the_stream_within_a_token(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["x" * 100_000], chunk_chars=4, delay=0.01)
    ctl = make_controller(engine)
    rec = _Recorder(ctl)
    with qtbot.waitSignal(ctl.delta, timeout=5000):
        ctl.generate("r", MESSAGES)
    assert ctl.busy
    with qtbot.waitSignal(ctl.finished, timeout=10000):
        ctl.stop()
    # Within a token: at most one more chunk after the cancel (counted, not timed).
    assert engine.produced_at_cancel is not None and engine.produced <= engine.produced_at_cancel + 1
    assert rec.finished[-1][1].finish_reason == "cancelled"
    assert not ctl.busy
    assert 0 < len(rec.text) < 100_000
    # The controller is ready for the next answer.
    with qtbot.waitSignal(ctl.delta, timeout=5000):
        assert ctl.generate("r2", MESSAGES)
    ctl.stop()
    qtbot.waitUntil(lambda: not ctl.busy, timeout=2000)


def test_only_one_answer_at_a_time(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    ctl = make_controller(ScriptedEngine(["y" * 5000], chunk_chars=1, delay=0.001))
    assert ctl.generate("a", MESSAGES)
    assert not ctl.generate("b", MESSAGES)
    assert ctl.current_request == "a"
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        ctl.stop()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (EngineError("the model ran out of memory"), "the model ran out of memory"),
        (RuntimeError("boom"), "RuntimeError: boom"),
    ],
)
def test_engine_errors_end_the_answer_with_a_message(qtbot, make_controller, error, expected) -> None:  # type: ignore[no-untyped-def]
    ctl = make_controller(ScriptedEngine([error, "fine again"]))
    rec = _Recorder(ctl)
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        ctl.generate("bad", MESSAGES)
    last = rec.finished[-1][1]
    assert last.finish_reason == "error"
    assert expected in last.error
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        ctl.generate("good", MESSAGES)
    assert rec.finished[-1][1].finish_reason == "stop"
    assert rec.text.endswith("fine again")


def test_max_tokens_reaches_the_engine(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    ctl = make_controller(ScriptedEngine(["abcdefghij" * 10], chunk_chars=1))
    rec = _Recorder(ctl)
    with qtbot.waitSignal(ctl.finished, timeout=5000):
        ctl.generate("r", MESSAGES, GenerationParams(max_tokens=5))
    assert rec.text == "abcde"
    assert rec.finished[-1][1].finish_reason == "length"


def test_a_failed_load_is_reported_not_raised(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    ctl = make_controller(ScriptedEngine())
    with qtbot.waitSignal(ctl.loadFailed, timeout=5000) as blocker:
        ctl.load("missing/model")
    assert "no model folder" in blocker.args[0]
    assert not ctl.is_loading


def test_shutdown_stops_an_answer_and_joins_the_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["z" * 100_000], chunk_chars=1, delay=0.01)
    ctl = GenerationController(engine)
    with qtbot.waitSignal(ctl.delta, timeout=5000):
        ctl.generate("r", MESSAGES)
    ctl.shutdown()
    assert engine.produced_at_cancel is not None and engine.produced <= engine.produced_at_cancel + 1
    assert not ctl.worker_thread.isRunning()
    assert engine.closed
    assert not ctl.generate("after", MESSAGES)


# -- the real MLX engine (a tiny random-weight model built locally) ----------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    pytest.importorskip("mlx_lm")
    import tiny_model as module  # the fixture shares the name

    root = os.environ.get("STUDIO_TEST_MODELS") or tmp_path_factory.mktemp("models")
    return str(module.cached_tiny_model(Path(root)))


def test_the_real_mlx_engine_loads_streams_and_stops_through_the_controller(qtbot, tiny_model) -> None:  # type: ignore[no-untyped-def]
    from studio.engine.mlx import MLXEngine

    ctl = GenerationController(MLXEngine())
    try:
        with qtbot.waitSignal(ctl.loaded, timeout=60000) as blocker:
            ctl.load(tiny_model)
            assert ctl.is_loading  # load() returned before the load ended: the GUI thread does not wait
        assert blocker.args[0].path.endswith(Path(tiny_model).name)
        rec = _Recorder(ctl)
        with qtbot.waitSignal(ctl.finished, timeout=60000):
            ctl.generate("a", MESSAGES, GenerationParams(max_tokens=12, temperature=0.0))
        last = rec.finished[-1][1]
        assert last.finish_reason in ("stop", "length")
        assert last.generated_tokens <= 12
        # Stop mid-answer: the stream ends as "cancelled" well before max_tokens.
        with qtbot.waitSignal(ctl.progress, timeout=60000):
            ctl.generate("b", MESSAGES, GenerationParams(max_tokens=4000, temperature=0.0))
        with qtbot.waitSignal(ctl.finished, timeout=10000):
            ctl.stop()
        assert rec.finished[-1][1].finish_reason in ("cancelled", "stop")
        assert rec.finished[-1][1].generated_tokens < 4000
    finally:
        ctl.shutdown()
    assert not ctl.worker_thread.isRunning()


def test_a_chat_answer_during_a_background_call_cancels_it_and_starts_when_it_ends(
    qtbot, make_controller
) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["b" * 4000, "the chat answer"], chunk_chars=1, delay=0.02)
    ctl = make_controller(engine)
    rec = _Recorder(ctl)
    assert ctl.generate("bridge-1", MESSAGES, background=True)
    qtbot.waitUntil(lambda: engine.produced > 0, timeout=10000)
    assert not ctl.generate("bridge-2", MESSAGES, background=True)  # one at a time
    assert ctl.generate("chat", MESSAGES)  # accepted: it waits for the call to give way
    assert ctl.busy and not ctl.generate("chat-2", MESSAGES)
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=20000)
    assert [(rid, c.finish_reason) for rid, c in rec.finished] == [
        ("bridge-1", "cancelled"),
        ("chat", "stop"),
    ]
    assert engine.produced < 4000 and not ctl.busy


def test_stop_of_one_request_leaves_a_waiting_chat_answer_alone(qtbot, make_controller) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(["b" * 4000, "chat"], chunk_chars=1, delay=0.02)
    ctl = make_controller(engine)
    rec = _Recorder(ctl)
    ctl.generate("bridge-1", MESSAGES, background=True)
    qtbot.waitUntil(lambda: engine.produced > 0, timeout=10000)
    ctl.stop("another")  # not running: nothing happens
    ctl.generate("chat", MESSAGES)
    ctl.stop("bridge-1")
    qtbot.waitUntil(lambda: len(rec.finished) == 2, timeout=20000)
    assert [rid for rid, _ in rec.finished] == ["bridge-1", "chat"] and rec.finished[1][
        1
    ].finish_reason == "stop"
    # Stop while the chat answer still waits: it ends cancelled without ever starting.
    engine.answers = ["c" * 4000]
    ctl.generate("bridge-2", MESSAGES, background=True)
    assert ctl.current_request == "bridge-2"
    ctl.generate("chat-2", MESSAGES)
    with qtbot.waitSignals([ctl.finished, ctl.finished], timeout=20000):
        ctl.stop()
    qtbot.waitUntil(lambda: len(rec.finished) == 4, timeout=20000)
    assert {rid: c.finish_reason for rid, c in rec.finished[2:]} == {
        "bridge-2": "cancelled",
        "chat-2": "cancelled",
    }
    assert not ctl.busy
