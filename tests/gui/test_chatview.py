"""The chat view: incremental rendering, the artifact card, thinking, finish notes, scrolling, drops,
and untrusted answers that stay inert (no script, no fetched image)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from studio.core.extract import StreamingExtractor, extract
from studio.core.markdown_render import COPY_SCHEME, render_markdown
from studio.ui.chatmessage import AssistantMessage
from studio.ui.chatview import ChatView
from studio.ui.chatwidgets import MAX_LABEL_HTML, ArtifactCard, MarkdownSegment, ThinkSection
from tests.gui.dnd import drop_files

ANSWER = (
    "Here is the page:\n\n```html\n<!DOCTYPE html>\n<html><head><title>Bouncing Ball</title></head>\n"
    "<body><canvas id='c'></canvas><script>const secretArtifactLine = 42;</script></body></html>\n```\n\n"
    "Run the helper too:\n\n```python\nprint('helper visible')\n```\n\nEnjoy!\n"
)


@pytest.fixture
def chat(qtbot) -> ChatView:
    view = ChatView()
    view.open_links_externally = False
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    return view


def stream_answer(chat: ChatView, msg_id: str, text: str, step: int = 5, reason: str = "stop") -> None:
    """Stream ``text`` like the window does: deltas, extractor snapshots, events, then finish."""
    chat.begin_assistant_message(msg_id)
    ex = StreamingExtractor()
    revision = -1
    for i in range(0, len(text), step):
        delta = text[i : i + step]
        chat.append_text(msg_id, delta)
        ex.feed(delta)
        snap = ex.snapshot()
        if ex.revision != revision:
            revision = ex.revision
            if snap.artifact is not None:
                chat.set_artifact(msg_id, snap, 1)
        QApplication.processEvents()
    final = ex.finish()
    if final.artifact is not None:
        chat.set_artifact(msg_id, final, 1)
    chat.finish_assistant_message(msg_id, reason)


def test_artifact_becomes_one_card_and_other_code_is_shown(chat: ChatView, qtbot) -> None:
    chat.add_user_message("u1", "make a ball", [("data.csv", 2048)])
    stream_answer(chat, "a1", ANSWER)
    text = chat.plain_text()
    assert "secretArtifactLine" not in text and "<!DOCTYPE" not in text
    assert "print('helper visible')" in text and "Run the helper too:" in text and "Enjoy!" in text
    assert "data.csv · 2.0 KB" in text
    msg = chat.message("a1")
    assert isinstance(msg, AssistantMessage)
    cards = [w for w in msg.widgets() if isinstance(w, ArtifactCard)]
    assert len(cards) == 1
    assert "Bouncing Ball" in cards[0].text() and "v1" in cards[0].text() and "writing" not in cards[0].text()
    assert "3 lines" in cards[0].text()
    with qtbot.waitSignal(chat.artifactActivated, timeout=1000) as sig:
        qtbot.mouseClick(cards[0], Qt.MouseButton.LeftButton)
    assert sig.args == ["a1"]


def test_card_says_writing_while_the_block_is_open(chat: ChatView) -> None:
    chat.begin_assistant_message("a1")
    partial = ANSWER[: ANSWER.index("<canvas")]
    chat.append_text("a1", partial)
    chat.flush()
    # before any extraction arrives, the open html fence already shows as a card, not as code
    assert "<!DOCTYPE" not in chat.plain_text() and "writing…" in chat.plain_text()
    snap = extract(partial)
    chat.set_artifact("a1", snap, 3)
    chat.flush()
    assert "v3" in chat.plain_text() and "writing…" in chat.plain_text()
    chat.finish_assistant_message("a1", "cancelled")
    assert "writing…" not in chat.plain_text() and "stopped" in chat.plain_text()


def test_streamed_rendering_equals_one_shot_and_is_batched(chat: ChatView, qtbot, corpus_dir: Path) -> None:
    text = (corpus_dir / "13-os-emulator-skyt1-split-html-css-js.md").read_text(encoding="utf-8")
    prose = text  # no set_artifact: once finished, every block is shown as markdown
    chat.begin_assistant_message("a1")
    for i in range(0, len(prose), 3):
        chat.append_text("a1", prose[i : i + 3])
        if i % 300 == 0:
            qtbot.wait(20)  # let the frame timer fire
    chat.finish_assistant_message("a1", "stop")
    msg = chat.message("a1")
    assert isinstance(msg, AssistantMessage)
    (segment,) = msg.widgets()
    assert isinstance(segment, MarkdownSegment)
    assert "".join(label.html() for label in segment.labels()) == render_markdown(prose)
    assert len(segment.labels()) > 2  # finished blocks went into their own labels
    assert chat.flush_count < len(prose) // 3 // 10  # far fewer renders than appends


def test_untrusted_html_is_inert_and_images_are_not_fetched(chat: ChatView, qtbot) -> None:
    hits: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.1)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        answer = (
            f"Look <script>document.title='pwned'</script> here\n\n<img src=http://127.0.0.1:{port}/a.png>\n\n"
            f"![chart](http://127.0.0.1:{port}/b.png) and [site](http://127.0.0.1:{port}/c)\n"
        )
        chat.begin_assistant_message("a1")
        chat.append_text("a1", answer)
        chat.finish_assistant_message("a1", "stop")
        qtbot.wait(300)
        text = chat.plain_text()
        assert "<script>document.title='pwned'</script>" in text  # shown as text, not run
        assert f"<img src=http://127.0.0.1:{port}/a.png>" in text
        assert "[image: chart]" in text
        htmls = [lbl.html() for w in chat.message("a1").widgets() for lbl in w.labels()]  # type: ignore[union-attr]
        assert all("<img" not in h and "<script" not in h for h in htmls)
        assert hits == []
    finally:
        stop.set()
        thread.join(2)
        server.close()


def test_think_section_is_collapsed(chat: ChatView) -> None:
    chat.begin_assistant_message("a1")
    chat.append_text("a1", "<think>I should plan the hidden reasoning words carefully")
    chat.flush()
    assert "Thinking…" in chat.plain_text() and "hidden reasoning" not in chat.plain_text()
    chat.append_text("a1", "</think>\n\nThe **answer**.")
    chat.finish_assistant_message("a1", "stop")
    text = chat.plain_text()
    assert "Thought for 8 words" in text and "hidden reasoning" not in text and "The answer." in text
    msg = chat.message("a1")
    (think,) = [w for w in msg.widgets() if isinstance(w, ThinkSection)]  # type: ignore[union-attr]
    think.toggle()
    assert think.expanded and "hidden reasoning" in chat.plain_text()


@pytest.mark.parametrize(
    ("reason", "error", "note"),
    [
        ("cancelled", None, "stopped"),
        ("length", None, "cut off at max tokens"),
        ("error", "boom", "Error: boom"),
    ],
)
def test_finish_notes(chat: ChatView, reason: str, error: str | None, note: str) -> None:
    chat.begin_assistant_message("a1")
    chat.append_text("a1", "Partial answer")
    chat.finish_assistant_message("a1", reason, error)
    assert chat.plain_text().endswith(note)


def test_normal_finish_has_no_note_and_notices_show(chat: ChatView) -> None:
    chat.begin_assistant_message("a1")
    chat.append_text("a1", "Done.")
    chat.finish_assistant_message("a1", "stop")
    chat.show_notice("Model not loaded", "error")
    assert chat.plain_text().endswith("Assistant\nDone.\n\nModel not loaded")
    chat.clear()
    QApplication.processEvents()
    assert chat.plain_text() == "" and chat.message("a1") is None


def test_copy_link_copies_the_code(chat: ChatView) -> None:
    chat.begin_assistant_message("a1")
    chat.append_text("a1", "```bash\necho copied\n```\n")
    chat.finish_assistant_message("a1", "stop")
    (segment,) = chat.message("a1").widgets()  # type: ignore[union-attr]
    label = next(lbl for lbl in segment.labels() if COPY_SCHEME in lbl.html())
    href = label.html().split(f'href="{COPY_SCHEME}', 1)[1].split('"', 1)[0]
    label.linkActivated.emit(COPY_SCHEME + href)
    assert QGuiApplication.clipboard().text() == "echo copied\n"


def test_scroll_follows_the_stream_unless_scrolled_up(chat: ChatView, qtbot) -> None:
    chat.begin_assistant_message("a1")
    bar = chat.scroll_area.verticalScrollBar()
    for i in range(60):
        chat.append_text("a1", f"Paragraph {i} with some words to wrap around.\n\n")
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    bar.setValue(0)
    assert not chat.following
    for i in range(20):
        chat.append_text("a1", f"More {i}.\n\n")
    chat.flush()
    qtbot.wait(50)
    assert bar.value() == 0
    bar.setValue(bar.maximum())
    assert chat.following


@pytest.fixture
def files(tmp_path: Path) -> Iterator[list[str]]:
    a = tmp_path / "notes.txt"
    a.write_text("hello")
    b = tmp_path / "data.csv"
    b.write_text("x,y\n1,2\n")
    yield [str(a), str(b)]


def test_drop_on_chat_emits_paths(chat: ChatView, qtbot, files: list[str]) -> None:
    with qtbot.waitSignal(chat.filesDropped, timeout=1000) as sig:
        drop = drop_files(chat, files)
    assert drop.isAccepted()
    assert sig.args == [files]
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(
        QPointF(1, 1),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(chat, enter)
    assert not enter.isAccepted()


def test_a_whole_answer_at_once_is_split_into_bounded_labels(chat: ChatView) -> None:
    text = "".join(
        f"## Part {i}\n\nSome prose for part {i}, with `code` and *emphasis*.\n\n" for i in range(300)
    )
    chat.begin_assistant_message("a1")
    chat.append_text("a1", text)  # how a saved conversation is shown again
    chat.finish_assistant_message("a1", "stop")
    (segment,) = chat.message("a1").widgets()  # type: ignore[union-attr]
    labels = segment.labels()
    assert "".join(label.html() for label in labels) == render_markdown(text)
    assert len(labels) > 5 and max(len(label.html()) for label in labels) < 2 * MAX_LABEL_HTML


def test_focus_stays_in_the_composer_side(chat: ChatView, qtbot) -> None:
    chat.begin_assistant_message("a1")
    chat.append_text("a1", "Some text to click on.\n\n```python\nx = 1\n```\n")
    chat.finish_assistant_message("a1", "stop")
    (segment,) = chat.message("a1").widgets()  # type: ignore[union-attr]
    assert all(label.focusPolicy() == Qt.FocusPolicy.NoFocus for label in segment.labels())
