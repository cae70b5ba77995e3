"""The whole window on the real SmolLM2 model through the real llama.cpp engine, typed into like a user.

Greedy decoding under the studio's own system prompt fixes every answer: "Make a red button in HTML."
gets a short HTML block (the preview shows it), "What is 2 + 2?" gets a sentence (the chat says there is
nothing to preview), and a story runs long enough to be stopped, then regenerated: the regenerated
answer starts with the stopped one, token for token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel

from studio.core.prompts import default_prompt
from studio.engine.base import GenerationParams
from studio.ui.generation import GenerationController
from studio.ui.mainwindow import MainWindow
from tests.gui.test_window import run_js, shown_page

pytestmark = pytest.mark.real_model

ANSWER_MS = 300_000  # a generous bound for one answer on a loaded 2-core machine; never reached when well


class Typist:
    """A window with the real engine, and what its controller streamed."""

    def __init__(self, qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
        self.qtbot, self.w = qtbot, window
        self.deltas: list[str] = []
        self.finished: list[str] = []
        assert window.controller is not None
        window.controller.delta.connect(lambda _rid, text: self.deltas.append(text))
        window.controller.finished.connect(lambda _rid, chunk: self.finished.append(chunk.finish_reason))

    def type_and_send(self, text: str) -> None:
        box = self.w.composer.input
        box.setFocus()
        self.qtbot.keyClicks(box, text)
        assert self.w.composer.text() == text
        self.deltas.clear()
        self.qtbot.keyClick(box, Qt.Key.Key_Return)
        assert self.w.busy and self.w.composer.text() == ""

    def wait_finished(self) -> str:
        self.qtbot.waitUntil(lambda: not self.w.busy, timeout=ANSWER_MS)
        return self.finished[-1]

    def notices(self) -> list[str]:
        return [label.text() for label in self.w.chat.findChildren(QLabel) if label.objectName() == "notice"]


@pytest.fixture
def typist(qtbot, real_model, artifact_server, artifact_profile, tmp_path) -> Iterator[Typist]:  # type: ignore[no-untyped-def]
    pytest.importorskip("llama_cpp", reason="pip install 'artifacts-studio[llamacpp]'")
    from studio.engine.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine()
    controller = GenerationController(engine)
    window = MainWindow(
        artifact_server,
        artifact_profile,
        controller,
        params=GenerationParams(temperature=0.0, max_tokens=96, seed=0),
        settings=QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat),
        system_prompt=default_prompt(),
        native_dialogs=False,
    )
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(controller.loaded, timeout=120_000):
        controller.load(str(real_model.gguf))  # on the engine's thread: the window stays live
    yield Typist(qtbot, window)
    window.close()
    assert not controller.worker_thread.isRunning()
    if shiboken6.isValid(window):
        shiboken6.delete(window)


def test_type_stream_preview_stop_and_regenerate(qtbot, typist: Typist) -> None:  # type: ignore[no-untyped-def]
    w = typist.w
    # 1. An artifact: it streams into the chat, then the preview shows the page the model wrote.
    typist.type_and_send("Make a red button in HTML.")
    assert typist.wait_finished() == "stop"
    assert len(typist.deltas) > 1  # streamed, not delivered at once
    answer = w.conversation.path()[-1]
    assert answer.content == "".join(typist.deltas) and "```html" in answer.content
    assert "<|im_end|>" not in answer.content
    assert len(w.session.versions) == 1 and w.session.current_version() is not None
    page = shown_page(qtbot, w)
    assert run_js(qtbot, page, "return document.querySelectorAll('button').length") == 1
    assert typist.notices() == []

    # 2. No artifact: the chat says so in plain words; the preview keeps the button.
    typist.type_and_send("What is 2 + 2?")
    assert typist.wait_finished() == "stop"
    # (what a 135M model answers is not tested, only that a plain answer is not taken for an artifact)
    assert w.conversation.path()[-1].content.strip() and "```" not in w.conversation.path()[-1].content
    assert typist.notices() == ["Nothing to preview: no renderable artifact in the answer."]
    assert len(w.session.versions) == 1

    # 3. Stop in the middle of a long answer (Esc, as a user would), once it has streamed.
    w.turns.params = GenerationParams(temperature=0.0, max_tokens=400, seed=0)
    typist.type_and_send("Write a long story about a dragon who loves music.")
    qtbot.waitUntil(lambda: len(typist.deltas) >= 2, timeout=ANSWER_MS)
    qtbot.keyClick(w.composer.input, Qt.Key.Key_Escape)
    assert typist.wait_finished() == "cancelled"
    stopped = w.conversation.path()[-1]
    assert stopped.finish_reason == "cancelled" and stopped.content.strip()
    assert stopped.content == "".join(typist.deltas)

    # 4. Regenerate (Ctrl+R): a new branch; greedy, so it starts with the stopped answer, token for token.
    w.turns.params = GenerationParams(temperature=0.0, max_tokens=stopped.stats["generated_tokens"] + 6)
    typist.deltas.clear()
    qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert typist.wait_finished() == "length"
    again = w.conversation.path()[-1]
    assert again.id != stopped.id and [m.id for m in w.conversation.siblings(again.id)] == [
        stopped.id,
        again.id,
    ]
    assert again.content.startswith(stopped.content) and len(again.content) > len(stopped.content)
